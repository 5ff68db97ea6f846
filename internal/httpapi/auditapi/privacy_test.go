package auditapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/vaxbook/vaxbook/internal/app/apptest"
	"github.com/vaxbook/vaxbook/internal/store"
	"github.com/vaxbook/vaxbook/internal/store/storetest"
)

// syncBuffer collects the service's logs from many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// person is who the test books for: every value is distinctive enough
// that finding it anywhere means it leaked.
var person = map[string]any{"given_name": "Zebulon", "family_name": "Quillfeather",
	"birth_date": "1943-11-07", "postal_code": "01950", "email": "zeb.quillfeather@example.net",
	"phone": "+1 617 555 0142"}

var conditions = []string{"sickle-cell-disease", "down-syndrome"}

// secrets are searched case-insensitively in text; digits-only ones only
// where no number (a timestamp, a metric value) could contain them by
// chance.
var (
	textSecrets  = []string{"zebulon", "quillfeather", "1943-11-07", "zeb.quillfeather", "example.net", "sickle", "syndrome"}
	digitSecrets = []string{"01950", "6175550142", "555 0142", "19431107"}
)

type httpClient struct {
	t     *testing.T
	base  string
	token string
}

func (c *httpClient) call(method, path string, body any, headers ...string) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func TestNoPersonalDataInAuditLogsOrMetrics(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			journeyFindsNothing(t, engine)
		})
	}
}

func journeyFindsNothing(t *testing.T, engine store.Dialect) {
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc := apptest.Start(t, apptest.Options{Engine: engine, Log: log})
	c := &httpClient{t: t, base: svc.URL}
	code, sess := c.call("POST", "/v1/sessions", person)
	if code != http.StatusCreated {
		t.Fatalf("session: %d %v", code, sess)
	}
	c.token = sess["session_token"].(string)
	code, dec := c.call("POST", "/v1/eligibility:evaluate", map[string]any{"answers": map[string]any{
		"conditions": conditions, "occupation": "retired", "residence": "private"}})
	if code != http.StatusOK || dec["eligible"] != true {
		t.Fatalf("evaluate: %d %v", code, dec)
	}
	slot := openSlot(t, svc)
	code, appt := c.call("POST", "/v1/appointments", map[string]any{"slot_id": slot,
		"decision_ref": dec["decision_ref"]}, "Idempotency-Key", "privacy-1")
	if code != http.StatusCreated {
		t.Fatalf("book: %d %v", code, appt)
	}
	if code, body := c.call("DELETE", "/v1/appointments/"+appt["id"].(string), nil); code != http.StatusOK {
		t.Fatalf("cancel: %d %v", code, body)
	}
	if _, err := svc.Sealer.SealOnce(context.Background()); err != nil {
		t.Fatal(err)
	}

	audit := auditText(t, svc.DB, sess["person_ref"].(string))
	metrics := metricsText(t, svc.URL)
	logText := logStrings(t, logs.String())
	for _, s := range textSecrets {
		for where, text := range map[string]string{"audit": audit.all, "logs": logText, "metrics": metrics} {
			if strings.Contains(strings.ToLower(text), s) {
				t.Errorf("%q found in the %s", s, where)
			}
		}
	}
	for _, s := range digitSecrets {
		for where, text := range map[string]string{"audit": audit.textColumns, "logs": logText, "metrics": metrics} {
			if strings.Contains(text, s) {
				t.Errorf("%q found in the %s", s, where)
			}
		}
	}
}

func openSlot(t *testing.T, svc *apptest.Service) int64 {
	t.Helper()
	var id int64
	q := `SELECT sl.id FROM slots sl JOIN sites si ON si.id = sl.site_id
	      WHERE si.region = 'MA' AND sl.remaining > 0 ORDER BY sl.start_us DESC, sl.id LIMIT 1`
	if err := svc.DB.Read.QueryRow(q).Scan(&id); err != nil {
		t.Fatalf("no MA slot in the demo data: %v", err)
	}
	return id
}

type auditDump struct {
	all         string // every column of every audit table
	textColumns string // columns that hold no numbers of their own
}

// auditText dumps the audit tables and checks that the journey is there,
// so that finding nothing means something.
func auditText(t *testing.T, db *store.DB, personRef string) auditDump {
	t.Helper()
	rows, err := db.Read.Query(`SELECT seq, at_us, actor, action, subjects, rule_version, reasons, input_hash, details
		FROM audit_log ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var all, text strings.Builder
	actions := map[string]bool{}
	for rows.Next() {
		var seq, at int64
		var actor, action, subjects, rule, reasons, hash, details string
		if err := rows.Scan(&seq, &at, &actor, &action, &subjects, &rule, &reasons, &hash, &details); err != nil {
			t.Fatal(err)
		}
		all.WriteString(strings.Join([]string{actor, action, subjects, rule, reasons, hash, details}, " ") + "\n")
		text.WriteString(strings.Join([]string{actor, action, subjects, rule, reasons, details}, " ") + "\n")
		if actor == "person:"+personRef {
			actions[action] = true
		}
	}
	var notes []string
	crow, err := db.Read.Query("SELECT note FROM audit_checkpoints")
	if err != nil {
		t.Fatal(err)
	}
	defer crow.Close()
	for crow.Next() {
		var n string
		_ = crow.Scan(&n)
		notes = append(notes, n)
	}
	if len(notes) == 0 {
		t.Fatal("nothing sealed")
	}
	for _, want := range []string{"appointment.booked", "appointment.cancelled"} {
		if !actions[want] {
			t.Errorf("no %s record by the person; their actions: %v", want, actions)
		}
	}
	if len(actions) < 3 {
		t.Errorf("the person's decision is not on the log: %v", actions)
	}
	all.WriteString(strings.Join(notes, "\n"))
	return auditDump{all: all.String(), textColumns: text.String()}
}

// metricsText returns the /metrics exposition without sample values, which
// are numbers that could hold any digits.
func metricsText(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(raw), "vaxbook_audit_sealed_records_total") {
		t.Fatal("the audit metrics are not exposed")
	}
	var b strings.Builder
	for _, line := range strings.Split(string(raw), "\n") {
		if i := strings.LastIndexByte(line, ' '); i > 0 && !strings.HasPrefix(line, "#") {
			line = line[:i]
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// logStrings returns every string value of every log line except the
// timestamp, one per line.
func logStrings(t *testing.T, text string) string {
	t.Helper()
	var b strings.Builder
	lines := 0
	for _, line := range strings.Split(text, "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %s", line)
		}
		delete(m, "time")
		collectStrings(m, &b)
		lines++
	}
	if lines == 0 {
		t.Fatal("no logs captured")
	}
	return b.String()
}

func collectStrings(v any, b *strings.Builder) {
	switch x := v.(type) {
	case string:
		b.WriteString(x + "\n")
	case map[string]any:
		for k, e := range x {
			b.WriteString(k + "\n")
			collectStrings(e, b)
		}
	case []any:
		for _, e := range x {
			collectStrings(e, b)
		}
	}
}
