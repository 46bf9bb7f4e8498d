{
  "targets": [
    {"target_name": "pbox_addon", "sources": ["addon.c"]}
  ]
}
