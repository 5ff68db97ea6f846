package eligibility_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vaxbook/vaxbook/internal/eligibility"
	"github.com/vaxbook/vaxbook/rules"
)

func loadMA(t testing.TB) map[string]*eligibility.Ruleset {
	t.Helper()
	list, err := eligibility.LoadFS(rules.Massachusetts2021, rules.Massachusetts2021Dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*eligibility.Ruleset{}
	for _, rs := range list {
		byID[rs.Doc.ID] = rs
	}
	if len(byID) != 10 {
		t.Fatalf("loaded %d Massachusetts versions, want 10", len(byID))
	}
	return byID
}

type maCase struct {
	name    string
	version string
	at      string // an instant; the civil date is taken in America/New_York
	attrs   eligibility.Attributes
	minAge  int
	want    bool
	reasons []string
}

func person(birth string, a eligibility.Answers) eligibility.Attributes {
	return eligibility.Attributes{BirthDate: birth, PostalCode: "02114", Answers: a}
}

var none = eligibility.Answers{Residence: "private"}

// Instants are taken shortly after midnight in Massachusetts: in UTC and in
// Pacific/Kiritimati it is the same civil date, in America/Adak it is
// still the day before, so a zone mistake changes the answers.
var maCases = []maCase{
	{"phase1-a covid-facing worker", "phase1-a", "2020-12-15T00:30:00-05:00",
		person("1990-05-05", eligibility.Answers{Occupation: "health-care-covid-facing"}), 0, true, []string{"covid-facing-health-care"}},
	{"phase1-a first responder not yet", "phase1-a", "2020-12-15T00:30:00-05:00",
		person("1990-05-05", eligibility.Answers{Occupation: "first-responder"}), 0, false, []string{"not-in-eligible-group"}},
	{"phase1-b long-term care resident", "phase1-b", "2020-12-21T00:30:00-05:00",
		person("1930-05-05", eligibility.Answers{Residence: "long-term-care"}), 0, true, []string{"long-term-care"}},
	{"phase1-c first responder", "phase1-c", "2021-01-11T00:30:00-05:00",
		person("1990-05-05", eligibility.Answers{Occupation: "first-responder"}), 0, true, []string{"first-responder"}},
	{"phase1-d home health worker", "phase1-d", "2021-01-18T00:30:00-05:00",
		person("1990-05-05", eligibility.Answers{Occupation: "home-health-care"}), 0, true, []string{"other-health-care"}},
	{"phase1-d 80-year-old at home not yet", "phase1-d", "2021-01-18T00:30:00-05:00",
		person("1940-05-05", none), 0, false, []string{"not-in-eligible-group"}},
	{"phase2-g1 75th birthday today", "phase2-g1", "2021-02-01T00:30:00-05:00",
		person("1946-02-01", none), 0, true, []string{"age-75"}},
	{"phase2-g1 75 tomorrow", "phase2-g1", "2021-02-01T00:30:00-05:00",
		person("1946-02-02", none), 0, false, []string{"not-in-eligible-group"}},
	{"phase2-g1 companion", "phase2-g1", "2021-02-01T00:30:00-05:00",
		person("1980-02-02", eligibility.Answers{Companion: true}), 0, true, []string{"companion-75"}},
	{"phase2-g2 65th birthday today", "phase2-g2", "2021-02-18T00:30:00-05:00",
		person("1956-02-18", none), 0, true, []string{"age-65"}},
	{"phase2-g2 65 tomorrow", "phase2-g2", "2021-02-18T00:30:00-05:00",
		person("1956-02-19", none), 0, false, []string{"not-in-eligible-group"}},
	{"phase2-g2 born 29 Feb, 28 Feb of a non-leap year", "phase2-g2", "2021-02-28T00:30:00-05:00",
		person("1956-02-29", none), 0, false, []string{"not-in-eligible-group"}},
	{"phase2-g2 born 29 Feb, 1 Mar of a non-leap year", "phase2-g2", "2021-03-01T00:30:00-05:00",
		person("1956-02-29", none), 0, true, []string{"age-65"}},
	{"phase2-g2 two conditions", "phase2-g2", "2021-02-18T00:30:00-05:00",
		person("1990-05-05", eligibility.Answers{Conditions: []string{"asthma", "diabetes"}}), 0, true, []string{"two-conditions"}},
	{"phase2-g2 one condition", "phase2-g2", "2021-02-18T00:30:00-05:00",
		person("1990-05-05", eligibility.Answers{Conditions: []string{"asthma"}}), 0, false, []string{"not-in-eligible-group"}},
	{"phase2-g2 one condition named twice", "phase2-g2", "2021-02-18T00:30:00-05:00",
		person("1990-05-05", eligibility.Answers{Conditions: []string{"asthma", "asthma"}}), 0, false, []string{"not-in-eligible-group"}},
	{"phase2-g2 65 with two conditions gives both reasons", "phase2-g2", "2021-02-18T00:30:00-05:00",
		person("1950-01-01", eligibility.Answers{Conditions: []string{"cancer", "smoking"}}), 0, true, []string{"age-65", "two-conditions"}},
	{"phase2-g2 teacher not yet", "phase2-g2", "2021-02-18T00:30:00-05:00",
		person("1980-05-05", eligibility.Answers{Occupation: "k12-educator"}), 0, false, []string{"not-in-eligible-group"}},
	{"phase2-g3 teacher", "phase2-g3", "2021-03-11T00:30:00-05:00",
		person("1980-05-05", eligibility.Answers{Occupation: "k12-educator"}), 0, true, []string{"educator"}},
	{"phase2-g4 60th birthday today", "phase2-g4", "2021-03-22T00:30:00-04:00",
		person("1961-03-22", none), 0, true, []string{"age-60"}},
	{"phase2-g4 60 tomorrow", "phase2-g4", "2021-03-22T00:30:00-04:00",
		person("1961-03-23", none), 0, false, []string{"not-in-eligible-group"}},
	{"phase2-g4 grocery worker", "phase2-g4", "2021-03-22T00:30:00-04:00",
		person("1995-05-05", eligibility.Answers{Occupation: "grocery"}), 0, true, []string{"essential-worker"}},
	{"phase2-g4 other occupation", "phase2-g4", "2021-03-22T00:30:00-04:00",
		person("1995-05-05", eligibility.Answers{Occupation: "other"}), 0, false, []string{"not-in-eligible-group"}},
	{"phase2-g5 55th birthday today", "phase2-g5", "2021-04-05T00:30:00-04:00",
		person("1966-04-05", none), 0, true, []string{"age-55"}},
	{"phase2-g5 55 tomorrow", "phase2-g5", "2021-04-05T00:30:00-04:00",
		person("1966-04-06", none), 0, false, []string{"not-in-eligible-group"}},
	{"phase2-g5 one condition", "phase2-g5", "2021-04-05T00:30:00-04:00",
		person("1990-05-05", eligibility.Answers{Conditions: []string{"pregnancy"}}), 0, true, []string{"one-condition"}},
	{"phase3 16th birthday today", "phase3", "2021-04-19T00:30:00-04:00",
		person("2005-04-19", none), 0, true, []string{"age-16"}},
	{"phase3 16 tomorrow", "phase3", "2021-04-19T00:30:00-04:00",
		person("2005-04-20", none), 0, false, []string{"not-in-eligible-group"}},
	{"phase3 16-year-old asking for Pfizer (min 16)", "phase3", "2021-04-19T00:30:00-04:00",
		eligibility.Attributes{BirthDate: "2005-04-19", PostalCode: "02114", Product: "208", Dose: 1}, 16, true, []string{"age-16"}},
	{"phase3 16-year-old asking for Moderna (min 18)", "phase3", "2021-04-19T00:30:00-04:00",
		eligibility.Attributes{BirthDate: "2005-04-19", PostalCode: "02114", Product: "207", Dose: 1}, 18, false, []string{"below-product-age"}},
	{"phase3 18th birthday today, Moderna", "phase3", "2021-04-19T00:30:00-04:00",
		eligibility.Attributes{BirthDate: "2003-04-19", PostalCode: "02114", Product: "207", Dose: 1}, 18, true, []string{"age-16"}},
	{"phase3 lives in New Hampshire", "phase3", "2021-04-19T00:30:00-04:00",
		eligibility.Attributes{BirthDate: "1980-01-01", PostalCode: "03060"}, 0, false, []string{"not-resident"}},
	{"phase3 lives in New Hampshire, works in MA", "phase3", "2021-04-19T00:30:00-04:00",
		eligibility.Attributes{BirthDate: "1980-01-01", PostalCode: "03060", Answers: eligibility.Answers{Ties: []string{"work"}}}, 0, true, []string{"age-16"}},
}

func runMACases(t *testing.T, byID map[string]*eligibility.Ruleset) {
	t.Helper()
	for _, c := range maCases {
		rs := byID[c.version]
		at, err := time.Parse(time.RFC3339, c.at)
		if err != nil {
			t.Fatal(err)
		}
		_, out, err := rs.EvaluateAttributes(c.attrs, rs.DateAt(at), c.minAge)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if out.Eligible != c.want || !slices.Equal(out.Reasons, c.reasons) {
			t.Errorf("%s (%s): eligible=%v reasons=%v; want %v %v", c.name, time.Local, out.Eligible, out.Reasons, c.want, c.reasons)
		}
	}
}

func TestMassachusettsVersions(t *testing.T) {
	t.Parallel()
	runMACases(t, loadMA(t))
}

// TestMassachusettsWhateverTheServerZone sets the process time zone, so it
// is not parallel: parallel tests start only after it has finished.
func TestMassachusettsWhateverTheServerZone(t *testing.T) {
	byID := loadMA(t)
	saved := time.Local
	defer func() { time.Local = saved }()
	for _, zone := range []string{"Pacific/Kiritimati", "America/Adak", "UTC"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		time.Local = loc
		t.Setenv("TZ", zone)
		runMACases(t, byID)
	}
}

func TestEachVersionKeepsTheGroupsBefore(t *testing.T) {
	t.Parallel()
	list, err := eligibility.LoadFS(rules.Massachusetts2021, rules.Massachusetts2021Dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(list); i++ {
		prev, cur := list[i-1].Doc, list[i].Doc
		for _, r := range prev.Rules {
			if !slices.ContainsFunc(cur.Rules, func(c eligibility.Rule) bool { return c == r }) {
				t.Errorf("%s drops rule %s of %s", cur.ID, r.Name, prev.ID)
			}
		}
	}
	if list[0].Doc.ID != "phase1-a" || list[len(list)-1].Doc.ID != "phase3" {
		t.Errorf("order by effective time: first %s, last %s", list[0].Doc.ID, list[len(list)-1].Doc.ID)
	}
}

const goodDoc = `
id: test-1
jurisdiction: MA
time_zone: America/New_York
effective_at: "2021-05-01T00:00:00-04:00"
description: test
reasons:
  not-in-eligible-group: {en: "no", es: "no"}
  old: {en: "old", es: "mayor"}
rules:
  - {name: old, kind: admit, reason: old, expr: "age >= 50"}
`

func compileErr(t *testing.T, doc string) *eligibility.ValidationError {
	t.Helper()
	d, err := eligibility.ParseDocument([]byte(doc))
	if err == nil {
		_, err = eligibility.Compile(d, 0)
	}
	var ve *eligibility.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want a ValidationError", err)
	}
	return ve
}

func TestValidationNamesTheRule(t *testing.T) {
	t.Parallel()
	d, err := eligibility.ParseDocument([]byte(goodDoc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eligibility.Compile(d, 0); err != nil {
		t.Fatalf("good document refused: %v", err)
	}
	// One loop over the conditions is cheap enough; a loop inside a loop is not.
	oneLoop := strings.Replace(goodDoc, `expr: "age >= 50"`, `expr: "conditions.exists(c, c.startsWith('heart'))"`, 1)
	if d, err = eligibility.ParseDocument([]byte(oneLoop)); err == nil {
		_, err = eligibility.Compile(d, 0)
	}
	if err != nil {
		t.Errorf("a single loop refused: %v", err)
	}
	cases := []struct {
		name, from, to, rule, want string
	}{
		{"syntax", `expr: "age >= 50"`, `expr: "age >= "`, "old", "does not compile"},
		{"unknown variable", `expr: "age >= 50"`, `expr: "income > 5"`, "old", "does not compile"},
		{"type", `expr: "age >= 50"`, `expr: "age >= '50'"`, "old", "does not compile"},
		{"not bool", `expr: "age >= 50"`, `expr: "age + 1"`, "old", "must be a bool"},
		{"over cost", `expr: "age >= 50"`,
			`expr: "conditions.all(a, conditions.all(b, conditions.all(c, a + b + c != 'x')))"`, "old", "over the limit"},
		{"two loops over cost", `expr: "age >= 50"`,
			`expr: "conditions.exists(a, conditions.exists(b, a == b))"`, "old", "estimated cost 13506"},
		{"undefined reason", `reason: old, expr`, `reason: young, expr`, "old", `"young" is not defined`},
		{"bad kind", `kind: admit`, `kind: maybe`, "old", "admit or exclude"},
	}
	for _, c := range cases {
		doc := strings.Replace(goodDoc, c.from, c.to, 1)
		ve := compileErr(t, doc)
		if len(ve.Problems) != 1 || ve.Problems[0].Rule != c.rule || !strings.Contains(ve.Problems[0].Message, c.want) {
			t.Errorf("%s: problems %v; want one naming rule %q with %q", c.name, ve.Problems, c.rule, c.want)
		}
		if !strings.Contains(ve.Error(), `rule "`+c.rule+`"`) {
			t.Errorf("%s: error %q does not name the rule", c.name, ve.Error())
		}
	}
}

func TestValidationOfTheDocument(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, from, to, field string }{
		{"unknown field", "description: test", "descripton: test", "document"},
		{"no offset", `"2021-05-01T00:00:00-04:00"`, `"2021-05-01T00:00:00"`, "effective_at"},
		{"bad zone", "America/New_York", "Mars/Olympus", "time_zone"},
		{"missing spanish", `old: {en: "old", es: "mayor"}`, `old: {en: "old"}`, "reasons.old"},
		{"no default reason", `not-in-eligible-group: {en: "no", es: "no"}`, `other: {en: "no", es: "no"}`, "reasons"},
	}
	for _, c := range cases {
		ve := compileErr(t, strings.Replace(goodDoc, c.from, c.to, 1))
		if !slices.ContainsFunc(ve.Problems, func(p eligibility.Problem) bool { return p.Field == c.field }) {
			t.Errorf("%s: problems %v; want one on %s", c.name, ve.Problems, c.field)
		}
	}
}

func TestJSONDocument(t *testing.T) {
	t.Parallel()
	d, err := eligibility.ParseDocument([]byte(goodDoc))
	if err != nil {
		t.Fatal(err)
	}
	canon, err := d.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	back, err := eligibility.ParseDocument(canon)
	if err != nil {
		t.Fatalf("canonical JSON does not parse back: %v", err)
	}
	again, _ := back.Canonical()
	if string(again) != string(canon) {
		t.Errorf("round trip changed the document:\n%s\n%s", canon, again)
	}
}

func TestStateOf(t *testing.T) {
	t.Parallel()
	for zip, want := range map[string]string{
		"02114": "MA", "01001": "MA", "05501": "MA", "02903": "RI", "03060": "NH",
		"10001": "NY", "08332-3762": "NJ", "8332": "", "ABCDE": "", "99501": "AK",
	} {
		if got := eligibility.StateOf(zip); got != want {
			t.Errorf("StateOf(%q) = %q, want %q", zip, got, want)
		}
	}
}

func TestAgeOn(t *testing.T) {
	t.Parallel()
	d := func(s string) eligibility.Date {
		v, err := eligibility.ParseDate(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		birth, on string
		want      int
	}{
		{"2000-02-29", "2021-02-28", 20}, {"2000-02-29", "2021-03-01", 21},
		{"2000-02-29", "2024-02-29", 24}, {"2000-02-29", "2024-02-28", 23},
		{"1990-12-31", "2021-12-30", 30}, {"1990-12-31", "2021-12-31", 31},
	}
	for _, c := range cases {
		if got := eligibility.AgeOn(d(c.birth), d(c.on)); got != c.want {
			t.Errorf("AgeOn(%s, %s) = %d, want %d", c.birth, c.on, got, c.want)
		}
	}
	if _, err := eligibility.ParseDate("2021-02-29"); err == nil {
		t.Error("2021-02-29 parsed")
	}
}
