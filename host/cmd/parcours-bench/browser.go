package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	hospitalsite "github.com/parcours-sante/parcours/examples/hospital-site"
)

type stat struct {
	Median, Min, Max float64
	N                int // the runs that have it, where some may not (the Wasm's marks)
}

func (s stat) ms() string { return fmt.Sprintf("%.0f ms [%.0f–%.0f]", s.Median, s.Min, s.Max) }

// browserResult is one scenario, profile and cache state of bench.mjs.
type browserResult struct {
	Widget, Peer, Profile, Cache string
	Variant                      string // A or B in an A/B run (-web-b)
	Runs                         int
	ViaWasm                      int
	// Content is the widget's first content; Interactive is the booking
	// widget's first handled click.
	Content, Interactive stat
	// The questionnaire widget and its peers.
	Question, Answered stat
	BytesQuestion      stat
	Bytes              stat
	// When the booking widget's Wasm was instantiated and had rendered, in
	// the runs where it had by the end of the click.
	WasmInstantiated, WasmRendered stat
	// When the booking widget's slot was clicked (-booking only).
	Click stat
	// The Wasm's start without a click (-booking -start): from instantiated
	// to rendered, and go.run's CPU time.
	GoStart, GoRunCPU stat
}

type skip struct{ Peer, Reason string }

func browserBench(r *report, e *env, runs int) error {
	dir := "widgets/e2e"
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		return fmt.Errorf("playwright-core is not installed: run `cd widgets/e2e && npm ci` (or -browser=false)")
	}
	skipped := preparePeers()
	fmt.Fprintln(os.Stderr, "bench: compressing the questionnaire pages")
	pages, err := peersHandler(e.hostURL, e.peersURL, skipped)
	if err != nil {
		return err
	}
	e.serve(e.peersLn, pages)
	var ready []string
	for _, p := range peerPages[1:] {
		if skipped[p.name] == "" {
			ready = append(ready, p.name)
		}
	}
	qfile, err := filepath.Abs(filepath.Join("sdk/questionnaire/instruments", benchQuestionnaire+".json"))
	if err != nil {
		return err
	}

	load0 := loadAvg()
	fmt.Fprintf(os.Stderr, "bench: browser: booking, messages, documents, access, then PHQ-9 in Parcours and %s; %d runs cold and %d warm each, loopback then Slow 4G\n", strings.Join(ready, ", "), runs, runs)
	res, err := benchMJS(e, runs, "PEERS="+strings.Join(ready, ","), "QUESTIONNAIRE_JSON="+qfile)
	if err != nil {
		return err
	}
	load := fmt.Sprintf("The 1-minute load average of this machine (%d CPUs) was %s before the browser runs and %s after them: other work on it shows in these times.", runtime.NumCPU(), load0, loadAvg())
	for _, p := range peerPages {
		if reason := skipped[p.name]; reason != "" {
			res.Skipped = append(res.Skipped, skip{p.name, reason})
		}
	}
	var booking, others, questionnaire []browserResult
	for _, x := range res.Results {
		switch x.Widget {
		case "booking":
			booking = append(booking, x)
		case "questionnaire":
			questionnaire = append(questionnaire, x)
		default:
			others = append(others, x)
		}
	}
	bookingReport(r, res.Chromium, runs, booking, load)
	widgetsReport(r, res.Chromium, runs, others)
	questionnaireReport(r, res.Chromium, runs, questionnaire, res.Skipped, load)
	return nil
}

// otherWidgets are the widgets whose controls need the Wasm, measured on
// their demo pages (widgets/e2e/bench-widgets.mjs): bench.mjs's names, and
// their elements.
var otherWidgets = []struct{ name, element, page string }{
	{"messages", "parcours-messages", "/messagerie/"},
	{"documents", "parcours-documents", "/documents/"},
	{"access", "parcours-access", "/acces/"},
}

// runWidgets measures only the messages, documents and access widgets
// (-widgets) and prints their table.
func runWidgets(web, profiles string, runs int) error {
	if err := built(web); err != nil {
		return err
	}
	a, err := start(context.Background(), web)
	if err != nil {
		return err
	}
	defer a.close()
	var names []string
	for _, w := range otherWidgets {
		names = append(names, w.name)
	}
	res, err := benchMJS(a, runs, "ONLY="+strings.Join(names, ","), "PROFILES="+profiles)
	if err != nil {
		return err
	}
	var r report
	widgetsReport(&r, res.Chromium, runs, res.Results)
	fmt.Print(r.String())
	return nil
}

func widgetsReport(r *report, chromium string, runs int, results []browserResult) {
	r.f("## The messages, documents and access widgets in Chromium\n\n")
	r.f("Headless Chromium %s, each widget on its page of the demo hospital site (", chromium)
	for i, w := range otherWidgets {
		if i > 0 {
			r.f(", ")
		}
		r.f("`<%s>` on `%s`", w.element, w.page)
	}
	r.f("), the patient signed in before the timing starts (`POST /api/v1/demo/session`), so that the host renders their first screen with their data. From the start of navigation: **content** is the first contentful paint in the widget's frame (the threads, the documents, the access log, server-rendered); **interactive** is the first click that does something until its result shows (a thread opened, a document opened in the viewer, a mistyped RPPS number looked up and refused by the widget: look-ups that reach the directory are limited to 10 a minute per patient, fewer than the runs). Each of these clicks works before the Wasm runs (a form post the host answers with the next screen; after, the Wasm handles it in place: *via Wasm* counts those runs), so it is made as soon as the first screen shows. Median of %d runs [min–max]. %s\n\n", runs, profilesNote)
	r.f("| widget | profile | cache | content | interactive | via Wasm | transferred |\n|---|---|---|---:|---:|---:|---:|\n")
	for _, x := range results {
		r.f("| %s | %s | %s | %s | %s | %d/%d | %s |\n", x.Widget, x.Profile, x.Cache, x.Content.ms(), x.Interactive.ms(), x.ViaWasm, x.Runs, kb(int(x.Bytes.Median)))
	}
	r.f("\nBudgets on Slow 4G: content ≤ 1,000 ms cold; interactive ≤ 3,000 ms cold and ≤ 600 ms warm.\n")
	for _, x := range results {
		if x.Profile != "slow4g" {
			continue
		}
		if x.Cache == "cold" {
			r.f("- %s, cold: content %s, interactive %s.\n", x.Widget, gap(x.Content.Median, 1000, false), gap(x.Interactive.Median, 3000, false))
		} else {
			r.f("- %s, warm: interactive %s.\n", x.Widget, gap(x.Interactive.Median, 600, false))
		}
	}
	r.f("\n")
}

// runBooking measures only the booking widget (-booking): on the host
// serving web, and, given webB, on a second host serving it; given
// loaderFramesB, B is the same Wasm on a hospital page whose frames the
// loader makes; given argsB, B runs in a second browser launched with those
// flags. Runs alternate. It prints the table and writes nothing.
func runBooking(web, webB string, loaderFramesB bool, argsB, profiles string, runs int, startOnly bool) error {
	if err := built(web); err != nil {
		return err
	}
	ctx := context.Background()
	a, err := start(ctx, web)
	if err != nil {
		return err
	}
	defer a.close()
	extra := []string{"ONLY=booking", "PROFILES=" + profiles}
	if startOnly {
		extra[0] = "ONLY=booking-start"
	}
	if webB != "" || loaderFramesB {
		b, err := startSite(ctx, cmp.Or(webB, web), hospitalsite.Config{LoaderFrames: loaderFramesB})
		if err != nil {
			return err
		}
		defer b.close()
		extra = append(extra, "SITE_URL_B="+b.siteURL)
	}
	if argsB != "" {
		extra = append(extra, "CHROMIUM_ARGS_B="+argsB)
	}
	res, err := benchMJS(a, runs, extra...)
	if err != nil {
		return err
	}
	fmt.Printf("Headless Chromium %s, %d runs, load average %s. From the start of navigation, median [min–max] (n: runs with the Wasm's mark).\n\n", res.Chromium, runs, loadAvg())
	if startOnly {
		fmt.Printf("| profile | cache | variant | Wasm instantiated | Wasm rendered | start (rendered − instantiated) | go.run CPU |\n|---|---|---|---:|---:|---:|---:|\n")
		for _, x := range res.Results {
			fmt.Printf("| %s | %s | %s | %s | %s | %s | %s |\n", x.Profile, x.Cache, x.Variant, x.WasmInstantiated.ms(), x.WasmRendered.ms(), x.GoStart.ms(), x.GoRunCPU.ms())
		}
		return nil
	}
	fmt.Printf("| profile | cache | variant | content | click | interactive | via Wasm | Wasm instantiated | Wasm rendered | transferred |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	opt := func(s stat) string {
		if s.N == 0 {
			return "–"
		}
		return fmt.Sprintf("%s (n=%d)", s.ms(), s.N)
	}
	for _, x := range res.Results {
		fmt.Printf("| %s | %s | %s | %s | %s | %s | %d/%d | %s | %s | %s |\n", x.Profile, x.Cache, x.Variant, x.Content.ms(), x.Click.ms(), x.Interactive.ms(), x.ViaWasm, x.Runs, opt(x.WasmInstantiated), opt(x.WasmRendered), kb(int(x.Bytes.Median)))
	}
	return nil
}

// runQuestionnaire measures only Parcours' questionnaire widget
// (-questionnaire) on the page of `parcours snippet -page`; given
// loaderFramesB, B is the page whose frame the loader makes, runs
// alternating. It prints the table and writes nothing.
func runQuestionnaire(web string, loaderFramesB bool, profiles string, runs int) error {
	if err := built(web); err != nil {
		return err
	}
	e, err := start(context.Background(), web)
	if err != nil {
		return err
	}
	defer e.close()
	pages, err := peersHandler(e.hostURL, e.peersURL, map[string]string{"lforms": "-questionnaire", "medplum": "-questionnaire"})
	if err != nil {
		return err
	}
	e.serve(e.peersLn, pages)
	qfile, err := filepath.Abs(filepath.Join("sdk/questionnaire/instruments", benchQuestionnaire+".json"))
	if err != nil {
		return err
	}
	extra := []string{"ONLY=questionnaire", "PROFILES=" + profiles, "PEERS=", "QUESTIONNAIRE_JSON=" + qfile}
	if loaderFramesB {
		extra = append(extra, "SITE_URL_B="+e.siteURL, "QUESTIONNAIRE_B=loader-frames")
	}
	res, err := benchMJS(e, runs, extra...)
	if err != nil {
		return err
	}
	fmt.Printf("Headless Chromium %s, %d runs, load average %s. From the start of navigation, median [min–max].\n\n", res.Chromium, runs, loadAvg())
	fmt.Printf("| profile | cache | variant | content | first question | answer registered | by the Wasm | bytes by answer |\n|---|---|---|---:|---:|---:|---:|---:|\n")
	for _, x := range res.Results {
		fmt.Printf("| %s | %s | %s | %s | %s | %s | %d/%d | %s |\n", x.Profile, x.Cache, x.Variant, x.Content.ms(), x.Question.ms(), x.Answered.ms(), x.ViaWasm, x.Runs, kb(int(x.Bytes.Median)))
	}
	return nil
}

type benchOutput struct {
	Chromium string
	Results  []browserResult
	Skipped  []skip
}

// benchMJS runs widgets/e2e/bench.mjs against e with more environment.
func benchMJS(e *env, runs int, extra ...string) (*benchOutput, error) {
	cmd := exec.Command("node", "bench.mjs")
	cmd.Dir = "widgets/e2e"
	cmd.Env = append(os.Environ(), "SITE_URL="+e.siteURL, "HOST_URL="+e.hostURL, "PEERS_URL="+e.peersURL, fmt.Sprintf("RUNS=%d", runs))
	cmd.Env = append(cmd.Env, extra...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("bench.mjs: %w", err)
	}
	var res benchOutput
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("bench.mjs output: %w\n%s", err, out)
	}
	return &res, nil
}

const profilesNote = "*Slow 4G* is Lighthouse's mobile profile: 150 ms RTT, 1.6 Mbps down, 750 kbps up, CPU 4× slower. *Cold*: a new browser context (empty cache) per run; *warm*: the same context, primed. The frame fetches and compiles the Wasm in a worker (`wasm/web/compile.js`), whose fetches Chromium's network emulation does not throttle: on Slow 4G cold the bench refuses that worker, so the frame falls back to fetching (throttled) and compiling the Wasm on its main thread, which makes the cold times after the Wasm a phone's at worst."

func bookingReport(r *report, chromium string, runs int, results []browserResult, load string) {
	r.f("## The booking widget in Chromium\n\nHeadless Chromium %s (playwright-core), the demo hospital page embedding `<parcours-booking>` from the host on another origin. From the start of navigation: **content** is the first contentful paint in the widget's frame (the server-rendered slots); **interactive** is one click on a slot until the confirmation step shows: before the Wasm runs, the click is a form post that the host answers with that step; after, the Wasm handles it in place (*via Wasm* counts the runs where it did). Median of %d runs [min–max]. %s\n\n", chromium, runs, profilesNote)
	r.f("| profile | cache | content | interactive | via Wasm | transferred |\n|---|---|---:|---:|---:|---:|\n")
	for _, x := range results {
		r.f("| %s | %s | %s | %s | %d/%d | %s |\n", x.Profile, x.Cache, x.Content.ms(), x.Interactive.ms(), x.ViaWasm, x.Runs, kb(int(x.Bytes.Median)))
	}
	r.f("\nBudgets on Slow 4G: content ≤ 1,000 ms cold; interactive ≤ 3,000 ms cold and ≤ 600 ms warm.\n")
	for _, x := range results {
		if x.Profile != "slow4g" {
			continue
		}
		if x.Cache == "cold" {
			r.f("- cold: content %s, interactive %s.\n", gap(x.Content.Median, 1000, false), gap(x.Interactive.Median, 3000, false))
		} else {
			r.f("- warm: interactive %s.\n", gap(x.Interactive.Median, 600, false))
		}
	}
	r.f("\n%s Peers (LHC-Forms, Medplum) are measured on the questionnaire widget, below.\n\n", load)
}

// citedPeers are the peers' numbers the issue cites, measured elsewhere
// (Slow 4G, cold): content visible, interactive, bytes.
var citedPeers = map[string]string{
	"lforms":  "6.7 s / 7.1 s, 652 KB",
	"medplum": "3.1 s / 3.4 s, 222 KB",
}

func questionnaireReport(r *report, chromium string, runs int, results []browserResult, skipped []skip, load string) {
	title := map[string]string{}
	for _, p := range peerPages {
		title[p.name] = p.title
	}
	version := peerVersions()
	r.f("## Questionnaire widget vs peers (PHQ-9)\n\n")
	r.f("The same FHIR Questionnaire (`sdk/questionnaire/instruments/%s.json`, French) in three widgets, in headless Chromium %s: Parcours' `<parcours-questionnaire>` embedded by a minimal page with the markup `parcours snippet -page` writes (the loader's script tag and the element with its frame, from the host, on another origin); LHC-Forms%s, its web component with its R4 FHIR support, as its README lists the files; Medplum's `QuestionnaireForm`%s in React, bundled with esbuild (React, Mantine and @medplum/react). ", benchQuestionnaire, chromium, version["lforms"], version["medplum"])
	r.f("Each page is as small as its widget allows and comes from the same loopback server, which sends every file compressed ahead of time (brotli at its best, as Parcours' Wasm), the HTML uncached and the rest cached for a year; the peers' pages carry the Questionnaire inline (no request for it: Parcours' first paint carries it too). The peers' packages are pinned in `widgets/e2e/peers/package-lock.json` and installed by `make bench` only.\n\n")
	r.f("From the start of navigation: **content** is the first contentful paint of the widget's document: Parcours' frame (its intro, server-rendered), the peers' page (which holds nothing but the widget); **first question** is the text of the first question visible; **answer registered** is the first option of that question chosen and in the widget's model: for Parcours, a click on the radio as soon as the question shows, until the host has saved it in the patient's draft (before the Wasm runs, the frame saves each answer in the background as it is given; the bench reads the draft back to check that it holds the answer) or, once the Wasm runs the widget, until it has re-rendered the radio as checked from its model (*by the Wasm* counts those runs); for LHC-Forms, which shows these choice questions as drop-down lists (the Questionnaire asks for no radio buttons), a click on the field and one on the option, until the QuestionnaireResponse of `LForms.Util.getFormFHIRData` holds the answer; for Medplum, a click on the radio until it is checked and `onChange` has delivered a QuestionnaireResponse holding the answer. ")
	r.f("Parcours asks the patient to sign in before the questions, the peers do not: the patient is signed in before the timing starts (`POST /api/v1/demo/session`, with no draft), so Parcours' first question includes the intro and one click on *Commencer* as soon as it shows (a form post the host answers before the Wasm runs, handled in place after). *Bytes* are those received by each moment. Median of %d runs [min–max]. %s\n\n", runs, profilesNote)

	order := map[string]int{}
	for i, p := range peerPages {
		order[p.name] = i
	}
	slices.SortStableFunc(results, func(a, b browserResult) int {
		if c := strings.Compare(profileKey(a), profileKey(b)); c != 0 {
			return c
		}
		return order[a.Peer] - order[b.Peer]
	})
	r.f("| profile | cache | widget | content | first question | answer registered | bytes by first question | bytes by answer |\n|---|---|---|---:|---:|---:|---:|---:|\n")
	for _, x := range results {
		r.f("| %s | %s | %s | %s | %s | %s | %s | %s |\n", x.Profile, x.Cache, title[x.Peer], x.Content.ms(), x.Question.ms(), x.Answered.ms(), kb(int(x.BytesQuestion.Median)), kb(int(x.Bytes.Median)))
	}
	for _, s := range skipped {
		r.f("\n- skipped: %s: %s", title[s.Peer], s.Reason)
	}
	if len(skipped) > 0 {
		r.f("\n")
	}

	r.f("\nBudgets on Slow 4G, cold: content visible ≤ 1,000 ms, interactive ≤ 3,000 ms (here: the answer registered). Medians:\n")
	for _, x := range results {
		if x.Profile != "slow4g" || x.Cache != "cold" {
			continue
		}
		r.f("- %s: content in %.0f ms (%s), ", title[x.Peer], x.Content.Median, gap(x.Content.Median, 1000, false))
		if x.Peer == "parcours" {
			r.f("first question in %.0f ms, ", x.Question.Median)
		}
		r.f("answer registered in %.0f ms (%s), %s received.", x.Answered.Median, gap(x.Answered.Median, 3000, false), kb(int(x.Bytes.Median)))
		if x.Peer == "parcours" {
			r.f(" The answer was saved in the draft by the host before the Wasm ran in %d of %d runs.", x.Runs-x.ViaWasm, x.Runs)
		}
		if c := citedPeers[x.Peer]; c != "" {
			r.f(" The issue cites %s measured elsewhere.", c)
		}
		r.f("\n")
	}
	r.f("\n%s\n\n", load)
}

// loadAvg is the 1-minute load average, or "unknown".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "unknown"
}

// profileKey orders results loopback before slow4g, cold before warm.
func profileKey(x browserResult) string { return x.Profile + "/" + x.Cache }

// peerVersions are the installed versions of the peers, as " 40.1.3".
func peerVersions() map[string]string {
	out := map[string]string{}
	for name, pkg := range map[string]string{"lforms": "lforms", "medplum": "@medplum/react"} {
		b, err := os.ReadFile(filepath.Join(peersDir, "node_modules", pkg, "package.json"))
		var p struct{ Version string }
		if err == nil && json.Unmarshal(b, &p) == nil && p.Version != "" {
			out[name] = " " + p.Version
		}
	}
	return out
}
