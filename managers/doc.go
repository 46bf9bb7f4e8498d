// Package managers describes each supported package manager in one file: which
// subcommands install or run package code, how to resolve without running code,
// which lockfiles to read, the download and build commands, the expected outputs
// and the caches. A manager describes; the shared orchestration runs the steps.
//
// # The interface
//
// Every manager implements Manager (Name, Ecosystem, Plan) and registers itself in
// an init function; Lookup("npm") finds it. Plan(argv, env) reads the project (never
// the network, and runs no tool: a project file is attacker input) and returns one of:
//
//   - a passthrough Plan: run the real tool with argv untouched (npm run, pnpm ls, …);
//   - a *Refusal: a command line phylum-box will not run, with what to do instead
//     (global installs, links into the global prefix, interactive upgrades, …);
//   - a Plan in four parts: Project (Root, Cwd, the Lockfiles to precheck, the
//     Outputs that may be synced back, the Sealed files the build must not touch),
//     Steps (Evaluate, Resolve, Hooks, Download, Build, ProjectScripts, Run, and the
//     host callbacks that read what they left), Scratch (npx/dlx/create: the empty
//     project to install into) and Sandbox (Caches, Credentials, HostPaths); npm,
//     pnpm and yarn plans also name their Registries (one metadata client).
//
// Adding a manager (uv, pip, …) is one file with a type implementing Manager and
// Documented (Doc, built from the tables Plan reads, becomes its reference page), its
// Register call, and its table-driven test; TestManagerDocsMatchPlan runs what Doc
// lists through Plan.
//
// # What the orchestration must do with a Plan
//
//  1. Resolve: copy the project (Root) to scratch, mount the copy at Root's own path
//     (user flags and local "file:" specs hold paths), run Resolve there with the
//     network on. Then parse Lockfiles from the copy and precheck them. A nil
//     Resolve means the committed lockfile is the resolution (npm ci, rebuild).
//  2. Run Download with the network on, on the resolved tree (an overlay of
//     Root). Re-read Lockfiles and refuse if they name a package that was not
//     prechecked.
//  3. Snapshot Sealed, run Build with the network off, compare Sealed (a change is a
//     forbidden write, exit 4). If Build.AppendChanged, the names of the packages
//     that Download added or changed may be appended to limit the build.
//  4. Sync back only Outputs; list and refuse every other write. Then run Then on
//     the host, if set.
//  5. Scratch plans (npx, dlx, create): steps 1–3 run in an empty project made from
//     Scratch.Files; Run then executes with the project as working directory, the
//     network off, the scratch node_modules/.bin first in PATH, and Scratch.RunBinOf (if
//     set) resolved with BinFromManifest and put in front of Run.Args.
//
// Every step gets the variables in PassEnv, network steps also NetworkEnv (proxy
// URLs can hold credentials), plus Step.Env and the Env of each Cache mounted in
// that phase. Step.Env already carries the user's npm_config_*/YARN_* settings
// (secret-looking ones travel in Credentials.Env instead) and, in Resolve and
// Download, scripts-off variables for the child processes the tools start: npm
// packs a git dependency by running `npm install --force` in the clone without
// --ignore-scripts, so such a dependency is installed unprepared rather than
// running its prepare script with the network on. Caches are mounted at their own path, writable only in the phases
// Cache.Writable lists: package code never gets a writable cache. Credentials:
// each ConfigFile's Secret content is visible only in steps with Credentials=true
// (Resolve, Download), its Public content elsewhere; Credentials.Env likewise.
// Credentials, Auth and Endpoint print themselves redacted; never log the bytes.
//
// # npm (npm.go, npmargs.go)
//
// The command is found as npm 11 finds it (nopt + lib/utils/cmd-list.js, checked
// against the npm on the machine by TestNpmArgvMatchesRealNpm): options anywhere,
// "--opt=v", value options taking the next word (--prefix, --registry, -C, -w,
// --loglevel, …), shorthands (-g, -D, -dd, glued -gD, --reg), unique-prefix
// abbreviations of options (--regis) and of commands (upd), camelCase commands;
// if the first word is not an npm command, a later intercepted word still counts.
//
//	install   i in ins inst insta instal isnt isnta isntal isntall add
//	ci        clean-install ic install-clean isntall-clean
//	update    up u upgrade udpate
//	uninstall un unlink remove rm r
//	rebuild   rb           (Build only; checks node_modules/.package-lock.json)
//	dedupe    ddp
//	prune                  (Download only, no network: it only removes)
//	install-test it; install-ci-test cit sit clean-install-test  (then npm test)
//	audit fix              (Resolve = audit fix --package-lock-only)
//	exec x, npx; init/create <initializer>  (scratch plan; a bin already in
//	                       node_modules/.bin, walking up, passes through as npm does)
//	refused: -g/--global/--location=global, link (global prefix), --no-save with
//	         packages, --no-package-lock (nothing to check)
//	passthrough: everything else, and --dry-run, --package-lock-only, --help
//
// Resolve  npm <cmd> <user args> --package-lock-only --ignore-scripts --no-audit --no-fund
// Download npm install <user options> --ignore-scripts --no-audit --no-fund
//
//	(npm ci … for ci/cit: the committed lockfile, checked for staleness by npm)
//
// Build    npm rebuild <user options> --foreground-scripts, env npm_config_nodedir=
//
//	the prefix whose include/node holds this node's headers (NodeHeadersDir:
//	node-gyp would otherwise download them) and npm_config_offline=true.
//
// Lockfile npm-shrinkwrap.json if present, else package-lock.json. Outputs
// node_modules/, package.json, the lockfile, and node_modules/ + package.json of
// every workspace. Cache ~/.npm (or "cache="): Resolve and Download only.
//
// # pnpm (pnpm.go)
//
// Parsed with pnpm 10's option table (universal + install options, shorthands -C -F
// -r -w -D …, escape words create/exec/test); "recursive"/"multi"/"m" prefixes;
// "install <pkg>" is add, as in pnpm.
//
//	install i; add; update up upgrade; remove rm uninstall un uni; unlink dislink;
//	dedupe; install-test it; import (Resolve only); fetch (Download only);
//	rebuild rb, approve-builds (Build only); dlx, create, pnpx (scratch plans)
//	refused: --global, link ln, deploy, self-update, patch-commit, patch-remove,
//	         update --interactive
//	passthrough: exec (runs only bins already installed, like npm run), run, test,
//	             unknown words (pnpm runs them as scripts), ci (unimplemented in pnpm)
//
// Resolve  pnpm <cmd> <args> --lockfile-only --config.ignore-scripts=true
//
//	(`pnpm remove` rejects --ignore-scripts; the config form is accepted everywhere)
//
// Download pnpm install <portable options> --frozen-lockfile --ignore-scripts
//
//	--package-import-method=copy --config.side-effects-cache=false
//
// Build    pnpm rebuild --config.side-effects-cache=false
//
// Every step names --config.store-dir. Copy, not hard links: with hard links a build
// script could edit the shared store through node_modules, and the sync back would
// carry store inodes into the project. Side effects cache off: built output never
// goes back into the store. Only "portable" options reach `pnpm install` (add's -D
// is --save-dev, install's -D is "dev dependencies only"). Lockfile pnpm-lock.yaml
// at the workspace root (pnpm-workspace.yaml). The store is writable in Resolve and
// Download and read-only in Build, which opens it.
//
// # yarn (yarn.go, yarn_berryrc.go, yarnrc.go, yarnsettings.go)
//
// Classic or berry is read from packageManager, .yarnrc.yml, the lockfile format,
// then the package.json of the yarn installation in PATH (nothing is run). Project
// .yarnrc/.yarnrc.yml settings are classified in yarnsettings.go and checked in
// yarnrc.go: no ${VAR}, paths inside the project, and the networked steps get a
// copy without yarn-path/yarnPath/plugins and YARN_IGNORE_PATH=1. The command is the first word not bound to a value option
// (--cwd, --cache-folder, --registry, …); "workspace NAME CMD" classifies CMD.
//
// Classic: bare yarn, install, add, upgrade, remove, create (scratch); refused:
// global, link, upgrade-interactive, --no-lockfile/--pure-lockfile.
//
//	Resolve  yarn <cmd> <args> --ignore-scripts --non-interactive  (yarn 1 cannot
//	         resolve without installing: a full install, scripts off, on the copy)
//	Download yarn install --frozen-lockfile --ignore-scripts --non-interactive
//	Build    yarn install --frozen-lockfile --offline --force --non-interactive
//
// yarn 1 has no rebuild; a second install builds nothing (it only builds what it
// linked in the same run); --force relinks from the cache and runs every lifecycle
// script; --offline keeps it off the network; the cache is mounted read-only. `npm
// rebuild` on the tree would apply npm's settings instead of yarn's. Cache
// YARN_CACHE_FOLDER / ~/.yarnrc cache-folder / ~/.cache/yarn (/usr/local/share/.cache/
// yarn for root).
//
// Berry: bare yarn, install, add, up, remove, dedupe, rebuild (Build only), dlx and
// create (scratch); refused: unplug, patch-commit, link, unlink, up -i, workspaces
// focus, workspaces foreach with an installing command.
//
//	Resolve  yarn <cmd> <args> --mode=update-lockfile
//	Download yarn install --immutable --mode=skip-build
//	Build    yarn rebuild   (YARN_ENABLE_NETWORK=0)
//
// Outputs add .pnp.cjs, .pnp.loader.mjs, .pnp.data.json, .yarn/install-state.gz,
// .yarn/unplugged/, and .yarn/cache/ when the cache is the project's — never
// .yarn/releases or .yarn/plugins (code yarn itself runs). yarn rebuild unplugs and
// rewrites .pnp.cjs, so only the manifests and yarn.lock are sealed. The global
// folder (~/.yarn/berry) is read-only after Download: PnP loads the zips from it.
// Registry and credentials come from .yarnrc.yml (npmRegistryServer, npmScopes,
// npmAuthToken/npmAuthIdent are secrets), not .npmrc.
//
// # .npmrc (npmrc.go)
//
// LoadNpmConfig merges the project's .npmrc, the user's (npm_config_userconfig or
// ~/.npmrc), the global one (<node prefix>/etc/npmrc), npm_config_* variables and
// command-line settings, with npm's precedence and ${VAR} / ${VAR?} expansion.
// Registry and Scopes feed the metadata client; AuthFor(url) finds the token the way
// npm-registry-fetch does (the "//host/path/:" key, then each parent path).
// Credentials() renders the user-level file (for the sandbox's empty $HOME) and the
// project's file when it holds secrets, each with and without its secret lines.
package managers
