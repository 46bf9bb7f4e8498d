// Package config owns phylum-box's user settings: the one config file
// ($XDG_CONFIG_HOME/phylum-box/config.yaml), the PHYLUM_BOX_* environment variables
// and the command-line flags that override both.
//
// Precedence is fixed and documented in docs/configuration.md:
//
//	built-in defaults < config file < PHYLUM_BOX_* environment < flags
//
// Load merges the first three; the flag helpers (AddLimitFlags, AddDatabaseFlags, …)
// bind flags directly to the loaded values, so a flag that is given overwrites the
// merged value and a flag that is not given leaves it alone. Every value records
// where it came from (Config.Origin) so `doctor` and error messages can say which
// file line or variable to change.
package config
