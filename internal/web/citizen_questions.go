package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/vaxbook/vaxbook/internal/eligibility"
)

// question is one eligibility question, asked on a page of its own.
type question struct {
	name     string
	multi    bool
	required bool
	options  func(v eligibility.Vocabulary) []string
	get      func(j *journey) []string
	set      func(j *journey, values []string)
}

// questions are asked in this order. The answer codes come from the active
// rule version's vocabulary, so a new version's codes appear without a
// release; their labels come from the catalog.
var questions = []question{
	{name: "residence", required: true,
		options: func(v eligibility.Vocabulary) []string { return v.Residences },
		get:     func(j *journey) []string { return one(j.Residence) },
		set:     func(j *journey, v []string) { j.Residence = first(v) }},
	{name: "occupation", required: true,
		options: func(v eligibility.Vocabulary) []string { return v.Occupations },
		get:     func(j *journey) []string { return one(j.Occupation) },
		set:     func(j *journey, v []string) { j.Occupation = first(v) }},
	{name: "conditions", multi: true,
		options: func(v eligibility.Vocabulary) []string { return v.Conditions },
		get:     func(j *journey) []string { return j.Conditions },
		set:     func(j *journey, v []string) { j.Conditions = v }},
	{name: "ties", multi: true,
		options: func(eligibility.Vocabulary) []string { return []string{"work", "study"} },
		get:     func(j *journey) []string { return j.Ties },
		set:     func(j *journey, v []string) { j.Ties = v }},
	{name: "companion", required: true,
		options: func(eligibility.Vocabulary) []string { return []string{"yes", "no"} },
		get:     func(j *journey) []string { return one(j.Companion) },
		set:     func(j *journey, v []string) { j.Companion = first(v) }},
}

func one(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

type option struct {
	Code, Label string
	Checked     bool
}

type questionView struct {
	Step, Steps   int
	Heading, Hint string
	Multi         bool
	Options       []option
}

// answers turns the journey into the eligibility service's answers.
func (j *journey) answers() eligibility.Answers {
	return eligibility.Answers{Conditions: nonNil(j.Conditions), Occupation: j.Occupation,
		Residence: j.Residence, Ties: j.Ties, Companion: j.Companion == "yes"}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// questionStep parses the step from the path; a step beyond the ones
// answered so far sends the person to the first unanswered one.
func (s *Web) questionStep(w http.ResponseWriter, r *http.Request, j *journey) (int, bool) {
	step, err := strconv.Atoi(r.PathValue("step"))
	if err != nil || step < 1 || step > len(questions) {
		s.notFound(w, r)
		return 0, false
	}
	if step > j.Answered+1 {
		http.Redirect(w, r, "/book/questions/"+strconv.Itoa(j.Answered+1), http.StatusSeeOther)
		return 0, false
	}
	return step, true
}

func (s *Web) questionPage(w http.ResponseWriter, r *http.Request) {
	p, ok := s.citizen(w, r)
	if !ok {
		return
	}
	j := s.readJourney(r)
	step, ok := s.questionStep(w, r, &j)
	if !ok {
		return
	}
	s.renderQuestion(w, r, p.PostalCode, &j, step, nil, http.StatusOK)
}

func (s *Web) renderQuestion(w http.ResponseWriter, r *http.Request, zip string, j *journey, step int, errs map[string]string, status int) {
	vocab, err := s.vocabulary(r, zip)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := questions[step-1]
	lang := requestLang(r)
	chosen := q.get(j)
	v := questionView{Step: step, Steps: len(questions), Multi: q.multi,
		Heading: "question." + q.name, Hint: "question." + q.name + ".hint"}
	for _, code := range q.options(vocab) {
		v.Options = append(v.Options, option{Code: code, Label: s.codeLabel(lang, q.name, code),
			Checked: slices.Contains(chosen, code)})
	}
	s.views.render(w, r, status, "question", &Page{Title: v.Heading, Data: v, Errors: errs})
}

// codeLabel names an answer code in the page's language; a code the
// catalog does not know yet (a new rule version's) is shown readably.
func (s *Web) codeLabel(lang, question, code string) string {
	key := "code." + question + "." + code
	if l := s.views.cat.T(lang, key); l != key {
		return l
	}
	return strings.ReplaceAll(code, "-", " ")
}

func (s *Web) questionSubmit(w http.ResponseWriter, r *http.Request) {
	p, ok := s.citizen(w, r)
	if !ok {
		return
	}
	j := s.readJourney(r)
	step, ok := s.questionStep(w, r, &j)
	if !ok {
		return
	}
	vocab, err := s.vocabulary(r, p.PostalCode)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := questions[step-1]
	allowed := q.options(vocab)
	var values []string
	for _, v := range r.PostForm["answer"] {
		if slices.Contains(allowed, v) && !slices.Contains(values, v) {
			values = append(values, v)
		}
	}
	if (q.required && len(values) == 0) || (!q.multi && len(values) > 1) {
		s.renderQuestion(w, r, p.PostalCode, &j, step, map[string]string{"answer": "question." + q.name + ".error"},
			http.StatusBadRequest)
		return
	}
	q.set(&j, values)
	j.Answered = max(j.Answered, step)
	// A changed answer invalidates the decision made from the old ones.
	j.DecisionRef, j.Eligible = "", false
	if step < len(questions) {
		s.writeJourney(w, j)
		http.Redirect(w, r, "/book/questions/"+strconv.Itoa(step+1), http.StatusSeeOther)
		return
	}
	s.evaluate(w, r, p, j)
}
