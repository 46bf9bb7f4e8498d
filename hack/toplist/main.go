// Command toplist builds precheck/analysis/data/top-npm.txt, the list of the most
// depended-on npm names that the typosquatting check compares new names against.
//
// The registry's search and download-count APIs are not reachable from every
// build machine, so popularity is measured the way "most depended-on" is defined:
// starting from a seed list of well-known packages, it walks the dependency graph
// of each package's latest version breadth-first (dependencies, peer, optional and
// dev dependencies) over registry.npmjs.org/NAME/latest, and ranks every name seen
// by how many distinct crawled packages depend on it. The seeds themselves are
// printed first: applications install them directly, which a count of dependents
// among packages undersells. The typosquatting check uses the top of the list as
// targets and the whole list as names that are not squats.
//
//	go run ./hack/toplist -max-fetch 40000 -top 15000 > precheck/analysis/data/top-npm.txt
//
// With -mirror DIR it writes instead the lists a team mirror serves to `phylum-box
// db update --source`, beside the OSV exports the team copies there:
//
//	DIR/<Ecosystem>/all.zip          OSV's export, copied by the team
//	DIR/toplists/top-npm.txt         this crawl (or, with -crawl=false, the built-in list)
//	DIR/toplists/top-pypi.txt        the lists built into phylum-box, copied
//	DIR/toplists/top-crates.txt
//	DIR/toplists/top-rubygems.txt
//
// Each file is one package name per line, most depended-on first, # comments and
// blank lines allowed; `db update` refuses a whole file with a name that is not
// valid for the registry, more than 4 MiB or more than 100,000 names. Every file
// written is checked the same way first. A team may edit the copies (add its own
// popular internal names, say); phylum-box uses a fetched list instead of its
// built-in one for that ecosystem.
//
//	go run ./hack/toplist -mirror /srv/osv-mirror -max-fetch 40000 -top 15000
//	go run ./hack/toplist -mirror /srv/osv-mirror -crawl=false   # offline: the built-in lists
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/phylum-box/phylum-box/precheck/analysis"
)

func main() {
	registry := flag.String("registry", "https://registry.npmjs.org", "npm registry base URL")
	maxFetch := flag.Int("max-fetch", 9000, "stop crawling after this many package documents")
	top := flag.Int("top", 3000, "names to print")
	workers := flag.Int("workers", 24, "concurrent requests")
	mirror := flag.String("mirror", "", "write DIR/toplists/top-{npm,pypi,crates,rubygems}.txt, the layout a mirror serves to db update, instead of printing the npm list")
	crawl := flag.Bool("crawl", true, "crawl the registry for the npm list (false: copy the built-in one; only with -mirror)")
	flag.Parse()
	if *mirror == "" && !*crawl {
		fmt.Fprintln(os.Stderr, "toplist: -crawl=false only makes sense with -mirror DIR")
		os.Exit(2)
	}
	npmList := analysis.EmbeddedTopListData("npm")
	if *crawl {
		npmList = crawlNPM(*registry, *maxFetch, *top, *workers)
	}
	if *mirror == "" {
		os.Stdout.Write(npmList)
		return
	}
	if err := writeMirror(*mirror, npmList); err != nil {
		fmt.Fprintln(os.Stderr, "toplist:", err)
		os.Exit(1)
	}
}

// writeMirror writes the four lists under dir/toplists, each checked as db
// update will check it and renamed into place complete.
func writeMirror(dir string, npmList []byte) error {
	out := filepath.Join(dir, "toplists")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, eco := range analysis.TopListEcosystems {
		data := analysis.EmbeddedTopListData(eco)
		if eco == "npm" {
			data = npmList
		}
		names, err := analysis.ParseTopList(eco, data)
		if err != nil {
			return fmt.Errorf("the %s list would be refused by db update: %w", eco, err)
		}
		file, _ := analysis.TopListFile(eco)
		tmp, err := os.CreateTemp(out, "."+file+"-*")
		if err != nil {
			return err
		}
		_, err = tmp.Write(data)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Chmod(tmp.Name(), 0o644)
		}
		if err == nil {
			err = os.Rename(tmp.Name(), filepath.Join(out, file))
		}
		if err != nil {
			os.Remove(tmp.Name())
			return err
		}
		fmt.Fprintf(os.Stderr, "toplist: wrote %s (%d names)\n", filepath.Join(out, file), len(names))
	}
	return nil
}

// crawlNPM walks the registry and returns the npm list's text.
func crawlNPM(registry string, maxFetch, top, workers int) []byte {
	c := &crawler{registry: strings.TrimRight(registry, "/"), client: &http.Client{Timeout: 20 * time.Second},
		dependents: map[string]map[string]bool{}, seen: map[string]bool{}, fetchedOK: map[string]bool{}}
	ctx := context.Background()
	frontier := seeds()
	for _, s := range frontier {
		c.seen[s] = true
	}
	fetched := 0
	for len(frontier) > 0 && fetched < maxFetch {
		if n := maxFetch - fetched; len(frontier) > n {
			frontier = frontier[:n]
		}
		fetched += len(frontier)
		frontier = c.level(ctx, frontier, workers)
		fmt.Fprintf(os.Stderr, "toplist: fetched %d, next level %d, names %d\n", fetched, len(frontier), len(c.dependents))
	}

	type ranked struct {
		name string
		n    int
	}
	var all []ranked
	for name, deps := range c.dependents {
		all = append(all, ranked{name, len(deps)})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].n != all[j].n {
			return all[i].n > all[j].n
		}
		return all[i].name < all[j].name
	})
	// Seeds first: applications install them directly (mongoose, nodemailer,
	// sqlite3), which a count of dependents among packages undersells.
	var out []string
	printed := map[string]bool{}
	for _, s := range seeds() {
		if c.fetchedOK[s] && !printed[s] {
			printed[s] = true
			out = append(out, s)
		}
	}
	for _, r := range all {
		if len(out) >= top {
			break
		}
		// A dependency key no registry would accept as a name cannot be
		// installed, and db update would refuse the whole list for it.
		if !printed[r.name] && analysis.ValidTopListName("npm", r.name) {
			printed[r.name] = true
			out = append(out, r.name)
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Most depended-on npm names, most depended-on first (one per line).\n")
	fmt.Fprintf(&b, "# Generated by hack/toplist on %s: breadth-first over the latest versions of %d packages\n", time.Now().UTC().Format("2006-01-02"), fetched)
	fmt.Fprintf(&b, "# reached from a seed list of well-known packages; the seeds first, then every name seen\n")
	fmt.Fprintf(&b, "# ranked by its distinct dependents among the crawled packages.\n")
	fmt.Fprintf(&b, "# Refresh: go run ./hack/toplist -max-fetch 40000 -top 15000 > precheck/analysis/data/top-npm.txt\n")
	for _, n := range out {
		fmt.Fprintln(&b, n)
	}
	return b.Bytes()
}

type crawler struct {
	registry string
	client   *http.Client

	mu         sync.Mutex
	dependents map[string]map[string]bool // name -> set of packages depending on it
	seen       map[string]bool
	fetchedOK  map[string]bool
}

// level fetches every name of one BFS level and returns the names first seen in it.
func (c *crawler) level(ctx context.Context, names []string, workers int) []string {
	var next []string
	ch := make(chan string)
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range ch {
				deps, err := c.latestDeps(ctx, name)
				if err != nil {
					fmt.Fprintf(os.Stderr, "toplist: %s: %v\n", name, err)
					continue
				}
				c.mu.Lock()
				c.fetchedOK[name] = true
				for _, d := range deps {
					if c.dependents[d] == nil {
						c.dependents[d] = map[string]bool{}
					}
					c.dependents[d][name] = true
					if !c.seen[d] {
						c.seen[d] = true
						next = append(next, d)
					}
				}
				c.mu.Unlock()
			}
		}()
	}
	for _, n := range names {
		ch <- n
	}
	close(ch)
	wg.Wait()
	sort.Strings(next) // deterministic truncation by -max-fetch
	return next
}

func (c *crawler) latestDeps(ctx context.Context, name string) ([]string, error) {
	// The /latest route takes a scoped name with its slash as is; %2F is refused there.
	u := c.registry + "/" + name + "/latest"
	if _, err := url.Parse(u); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", u, resp.Status)
	}
	var doc struct {
		Dependencies         map[string]string `json:"dependencies"`
		PeerDependencies     map[string]string `json:"peerDependencies"`
		OptionalDependencies map[string]string `json:"optionalDependencies"`
		DevDependencies      map[string]string `json:"devDependencies"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(&doc); err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, m := range []map[string]string{doc.Dependencies, doc.PeerDependencies, doc.OptionalDependencies, doc.DevDependencies} {
		for d, spec := range m {
			if strings.HasPrefix(spec, "npm:") || strings.HasPrefix(spec, "workspace:") || strings.HasPrefix(spec, "file:") || strings.HasPrefix(spec, "link:") {
				continue
			}
			set[d] = true
		}
	}
	out := make([]string, 0, len(set))
	for d := range set {
		out = append(out, d)
	}
	sort.Strings(out)
	return out, nil
}

// seeds are well-known packages across the ecosystem's areas; they only start the walk.
func seeds() []string {
	return strings.Fields(`
react react-dom next vue nuxt svelte @angular/core @angular/cli preact solid-js lit
express koa fastify hapi @nestjs/core socket.io ws axios node-fetch got request superagent undici
lodash underscore ramda moment dayjs date-fns luxon uuid nanoid chalk commander yargs minimist
debug dotenv cross-env rimraf glob mkdirp fs-extra chokidar semver
typescript @babel/core @babel/preset-env webpack webpack-cli rollup vite esbuild @swc/core parcel
eslint prettier jest mocha chai sinon vitest ava tap karma jasmine cypress playwright puppeteer
@testing-library/react enzyme storybook @storybook/react
tailwindcss postcss autoprefixer sass node-sass less styled-components @emotion/react
redux react-redux @reduxjs/toolkit mobx zustand rxjs immer graphql apollo-server @apollo/client
mongoose mongodb mysql mysql2 pg sequelize typeorm prisma knex redis ioredis sqlite3 better-sqlite3
aws-sdk @aws-sdk/client-s3 firebase firebase-admin googleapis stripe twilio
jsonwebtoken bcrypt bcryptjs passport helmet cors body-parser cookie-parser multer morgan
winston pino bunyan nodemon pm2 concurrently husky lint-staged lerna nx turbo
electron electron-builder sharp canvas jimp core-js regenerator-runtime tslib
@types/node @types/react ts-node tsx zod yup joi ajv class-validator
inquirer ora cli-progress boxen figlet execa shelljs cheerio jsdom
marked markdown-it highlight.js prismjs d3 chart.js three leaflet
bluebird async q co handlebars ejs pug mustache nodemailer
protobufjs @grpc/grpc-js grpc-tools @sentry/node @sentry/cli msw fsevents node-gyp
@vue/cli create-react-app react-scripts gatsby @remix-run/react astro ember-cli
@mui/material antd bootstrap jquery @fortawesome/fontawesome-free
mssql oracledb tedious sqlite mariadb cassandra-driver neo4j-driver elasticsearch @elastic/elasticsearch
nodemailer fluent-ffmpeg ffmpeg-static fabric http-proxy http-proxy-middleware discord.js telegraf
twilio @slack/web-api ethers web3 @solana/web3.js bitcoinjs-lib crypto-js node-forge openpgp
js-yaml yaml xml2js fast-xml-parser csv-parse papaparse xlsx pdfkit pdf-lib qrcode
socket.io-client sockjs amqplib kafkajs bullmq bull agenda node-cron cron
react-router react-router-dom @tanstack/react-query swr formik react-hook-form classnames
vue-router vuex pinia @vue/compiler-sfc nuxt @nuxt/kit @sveltejs/kit
puppeteer-core selenium-webdriver webdriverio nightwatch testcafe supertest nock
opencv4nodejs @tensorflow/tfjs @tensorflow/tfjs-node brain.js openai langchain
`)
}
