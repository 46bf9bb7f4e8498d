#!/bin/sh
echo pbox-fake-node
