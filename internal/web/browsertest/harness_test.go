package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// browser is one headless chromium shared by every test; each test gets
// its own browser context, so cookies never leak between tests.
var browser struct {
	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
	err    error
	axe    string
	shots  string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if browser.cancel != nil {
		browser.cancel()
	}
	os.Exit(code)
}

// startBrowser launches chromium once, or skips the test when the browser
// suite is not wanted here.
func startBrowser(t *testing.T) {
	t.Helper()
	axePath := os.Getenv("VAXBOOK_AXE_JS")
	if axePath == "" {
		if os.Getenv("VAXBOOK_REQUIRE_BROWSER") != "" {
			t.Fatal("VAXBOOK_REQUIRE_BROWSER is set but VAXBOOK_AXE_JS is not")
		}
		t.Skip("VAXBOOK_AXE_JS not set; browser tests skipped")
	}
	browser.once.Do(func() { browser.err = launch(axePath) })
	if browser.err != nil {
		t.Fatalf("start chromium: %v", browser.err)
	}
}

func launch(axePath string) error {
	axe, err := os.ReadFile(axePath)
	if err != nil {
		return fmt.Errorf("read axe-core: %w", err)
	}
	browser.axe = string(axe)
	browser.shots = os.Getenv("VAXBOOK_SCREENSHOT_DIR")
	if browser.shots == "" {
		if browser.shots, err = os.MkdirTemp("", "vaxbook-screens-"); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(browser.shots, 0o755); err != nil {
		return err
	}
	exe := "/usr/bin/chromium"
	if _, err := exec.LookPath(exe); err != nil {
		return fmt.Errorf("chromium not found at %s", exe)
	}
	profile, err := os.MkdirTemp("", "vaxbook-chromium-")
	if err != nil {
		return err
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.NoFirstRun,
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(profile),
		// Tests keep several tabs open; without these a tab that is not in
		// front may stop painting, and a screenshot of it never answers.
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.WindowSize(1024, 900))
	ctx, cancelCtx := chromedp.NewContext(alloc)
	if err := chromedp.Do(ctx); err != nil {
		cancelCtx()
		cancelAlloc()
		return err
	}
	browser.ctx = ctx
	browser.cancel = func() {
		cancelCtx()
		cancelAlloc()
		os.RemoveAll(profile)
	}
	return nil
}

// tab is one test's browser window with its own cookies.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
	js   bool
	name string
	n    int
}

// newTab opens a fresh browser context against base, with JavaScript on or
// off.
func newTab(t *testing.T, base string, js bool) *tab {
	t.Helper()
	startBrowser(t)
	ctx, cancel := chromedp.NewContext(browser.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	tb := &tab{t: t, ctx: ctx, base: base, js: js, name: strings.ReplaceAll(t.Name(), "/", "_")}
	if !js {
		tb.setScripts(false)
	}
	return tb
}

func (b *tab) setScripts(on bool) {
	b.t.Helper()
	err := chromedp.Do(b.ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled,
			emulation.SetScriptExecutionDisabledParams{Value: !on})
		return err
	}))
	if err != nil {
		b.t.Fatalf("set script execution: %v", err)
	}
}

// run runs steps with a deadline, failing the test with the page's
// location when one does not complete.
func (b *tab) run(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		body, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 600) : ""`))
		b.t.Fatalf("at %s: %v\npage text: %s", loc, err, body)
	}
}

// open navigates to a path on the server.
func (b *tab) open(path string) { b.run(chromedp.Navigate(b.base + path)) }

// expect waits for the page named name (main[data-page]) and checks it:
// a screenshot, and an axe-core scan with no serious or critical
// violation.
func (b *tab) expect(name string) {
	b.t.Helper()
	b.run(chromedp.WaitVisible(chromedp.CSS(`main[data-page="` + name + `"]`)))
	b.screenshot(name)
	b.scan(name)
}

func (b *tab) screenshot(name string) {
	b.t.Helper()
	// The viewport, not the full page: a long list of times makes a full
	// capture slow and large.
	png, err := b.capture()
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	b.n++
	mode := "js"
	if !b.js {
		mode = "nojs"
	}
	file := filepath.Join(browser.shots, fmt.Sprintf("%s-%s-%02d-%s.png", b.name, mode, b.n, name))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// capture takes a screenshot of the viewport, trying a few times: on a
// loaded machine a tab may take a while to paint its first frame, and a
// capture that starts while the page is being replaced by the next one
// fails at once ("not attached to an active page").
func (b *tab) capture() ([]byte, error) {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if attempt > 0 {
			time.Sleep(300 * time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
		// A tab in a background browser context may never paint a new
		// frame; bringing it to the front makes the capture answer.
		_ = chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, page.BringToFront, cdp.Empty{})
			return err
		}))
		var png []byte
		png, err = chromedp.Run(ctx, chromedp.CaptureScreenshot())
		cancel()
		if err == nil {
			return png, nil
		}
	}
	return nil, err
}

type violation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// scan fails the test on serious or critical axe-core violations.
func (b *tab) scan(name string) {
	b.t.Helper()
	for _, v := range b.violations(name) {
		b.t.Errorf("axe on page %s: %s (%s): %s at %v", name, v.ID, v.Impact, v.Help, v.Nodes)
	}
}

// violations injects axe-core and returns the serious and critical
// violations of WCAG 2.2 A and AA. With JavaScript off, scripts are
// switched on just for the scan: axe needs them, the page does not.
func (b *tab) violations(name string) []violation {
	b.t.Helper()
	if !b.js {
		b.setScripts(true)
		defer b.setScripts(false)
	}
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](browser.axe)); err != nil {
		b.t.Fatalf("inject axe-core on %s: %v", name, err)
	}
	const run = `axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}})
	  .then(r => JSON.stringify(r.violations.filter(v => v.impact === "serious" || v.impact === "critical")
	    .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(" "))}))))`
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](run, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("axe on %s: %v", name, err)
	}
	var vs []violation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		b.t.Fatalf("axe result on %s: %v", name, err)
	}
	return vs
}

// fill sets form fields by id.
func (b *tab) fill(fields map[string]string) {
	b.t.Helper()
	var steps []chromedp.Action[chromedp.Void]
	for id, v := range fields {
		steps = append(steps, chromedp.SetValue(chromedp.ID(id), v))
	}
	b.run(steps...)
}

// click clicks the element that sel selects. It first marks the current
// document stale, so that expect waits for the page the click leads to
// rather than matching the one still shown.
func (b *tab) click(sel string) {
	b.t.Helper()
	b.eval(`document.documentElement.setAttribute("data-stale", "1"); ""`)
	b.run(chromedp.Click(chromedp.CSS(sel)))
}

// text returns the visible text of the element sel selects.
func (b *tab) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// evalAwait evaluates an expression whose promise resolves to a string.
func (b *tab) evalAwait(expr string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("eval %s: %v", expr, err)
	}
	return s
}

var errNoValue = errors.New("no value")

// eval evaluates a JavaScript expression that returns a string.
func (b *tab) eval(expr string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("eval %s: %v", expr, errors.Join(err, errNoValue))
	}
	return s
}

// chromedpDoubleClick double-clicks the element sel selects.
func chromedpDoubleClick(sel string) chromedp.Action[chromedp.Void] {
	// Callers mark the page stale first (see click).
	return chromedp.DoubleClick(chromedp.CSS(sel))
}
