// Package analysis reads a downloaded package before any of its code runs and
// reports what its install-time and load-time code looks like it would do: decode
// and eval chains, long encoded blobs, obfuscator output, download-and-execute,
// credential paths, the environment or host facts sent over the network, binaries
// dropped by install scripts, minified install scripts, executable .pth files and
// sitecustomize modules; and whether a package's name imitates a much more
// depended-on one (typosquatting).
//
// It is static and cheap: files are read below the package root with openat2
// (no symlink is followed, no FIFO opened), or from a downloaded wheel, sdist or
// gem as an archive in memory (Archive; never unpacked to disk), with caps on file
// count, bytes per file and total bytes; nothing is executed. Signals are regular expressions and
// byte scans; a finding's severity comes from how they combine: a decode next to
// an eval, the environment next to the network, a credential path next to the
// network are high; one weaker signal alone is medium or low. What runs at install
// (npm lifecycle scripts and the files they load, binding.gyp, setup.py, build.rs,
// proc-macros, extconf.rb) is judged as one program; what runs when the application
// loads the package (npm main/exports/bin, a wheel's top-level modules, a gem's
// lib file) is judged per file and by proximity, since real bundles hold every
// construct somewhere.
//
// The typosquatting lists are embedded data (data/top-*.txt); hack/toplist
// rebuilds the npm one. Refreshing them with `db update` is not done yet.
package analysis
