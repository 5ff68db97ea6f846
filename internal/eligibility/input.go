package eligibility

import (
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Answers are what a person tells the service about themselves.
type Answers struct {
	// Conditions are stable codes from the document's vocabulary.
	Conditions []string `json:"conditions"`
	Occupation string   `json:"occupation"`
	// Residence is the type of residence ("private", "long-term-care"...).
	Residence string `json:"residence"`
	// Ties lists the person's ties to the jurisdiction besides living in
	// it: "work", "study".
	Ties []string `json:"ties,omitempty"`
	// Companion is true for a companion accompanying an older person.
	Companion bool `json:"companion,omitempty"`
}

// Attributes are everything needed to evaluate a person again. They are
// personal data: stored only sealed, never logged.
type Attributes struct {
	BirthDate  string  `json:"birth_date"`
	PostalCode string  `json:"postal_code"`
	Answers    Answers `json:"answers"`
	Product    string  `json:"product,omitempty"`
	Dose       int     `json:"dose,omitempty"`
}

// LogValue keeps attributes out of logs even when passed by mistake.
func (Attributes) LogValue() string { return "(redacted)" }

// Input is what a rule may look at. Field names match the CEL variables.
type Input struct {
	Age            int64    `json:"age"`
	PostalCode     string   `json:"postal_code"`
	State          string   `json:"state"`
	Ties           []string `json:"ties"`
	Conditions     []string `json:"conditions"`
	Occupation     string   `json:"occupation"`
	Residence      string   `json:"residence"`
	Companion      bool     `json:"companion"`
	Product        string   `json:"product"`
	ProductMinAge  int64    `json:"product_min_age"`
	Dose           int64    `json:"dose"`
	EvaluationDate string   `json:"evaluation_date"`
}

// Limits on answers; the cost estimate of every expression assumes them.
const (
	MaxConditions = 32
	MaxTies       = 4
	MaxStringLen  = 64
)

// Date is a civil date with no time zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate reads a YYYY-MM-DD date, refusing impossible ones (2021-02-29).
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("date %q is not a YYYY-MM-DD date", s)
	}
	return Date{t.Year(), t.Month(), t.Day()}, nil
}

// DateIn returns the civil date at instant t in loc.
func DateIn(t time.Time, loc *time.Location) Date {
	y, m, d := t.In(loc).Date()
	return Date{y, m, d}
}

func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

// Before reports whether d comes before e.
func (d Date) Before(e Date) bool {
	if d.Year != e.Year {
		return d.Year < e.Year
	}
	if d.Month != e.Month {
		return d.Month < e.Month
	}
	return d.Day < e.Day
}

// AgeOn returns the whole years a person born on birth has completed on
// the civil date on. Comparing month and day (never instants) means a
// 29 February birthday is reached on 1 March in a non-leap year.
func AgeOn(birth, on Date) int {
	age := on.Year - birth.Year
	if on.Month < birth.Month || (on.Month == birth.Month && on.Day < birth.Day) {
		age--
	}
	return age
}

// NewInput builds the rule input for attrs on the civil date on.
// productMinAge is the product's minimum age (0 when no product is named).
func NewInput(attrs Attributes, on Date, productMinAge int) (Input, error) {
	birth, err := ParseDate(attrs.BirthDate)
	if err != nil {
		return Input{}, err
	}
	if len(attrs.PostalCode) > MaxStringLen || len(attrs.Product) > MaxStringLen {
		return Input{}, fmt.Errorf("postal code or product over %d characters", MaxStringLen)
	}
	if on.Before(birth) {
		return Input{}, fmt.Errorf("birth date is after the evaluation date")
	}
	return Input{
		Age:            int64(AgeOn(birth, on)),
		PostalCode:     attrs.PostalCode,
		State:          StateOf(attrs.PostalCode),
		Ties:           distinct(attrs.Answers.Ties),
		Conditions:     distinct(attrs.Answers.Conditions),
		Occupation:     attrs.Answers.Occupation,
		Residence:      attrs.Answers.Residence,
		Companion:      attrs.Answers.Companion,
		Product:        attrs.Product,
		ProductMinAge:  int64(productMinAge),
		Dose:           int64(attrs.Dose),
		EvaluationDate: on.String(),
	}, nil
}

// distinct returns the sorted codes without repeats: a condition named
// twice must not count as two.
func distinct(s []string) []string {
	out := slices.Clone(s)
	if out == nil {
		return []string{}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// zipRange maps the 3-digit ZIP prefixes lo..hi to a state.
type zipRange struct {
	lo, hi int
	state  string
}

// zipStates is the USPS assignment of 3-digit ZIP prefixes to states (and
// DC, territories and military post offices). It is deliberately small:
// the rules need the state of residence, not the town.
var zipStates = []zipRange{
	{5, 5, "NY"}, {6, 7, "PR"}, {8, 8, "VI"}, {9, 9, "PR"},
	{10, 27, "MA"}, {28, 29, "RI"}, {30, 38, "NH"}, {39, 49, "ME"},
	{50, 54, "VT"}, {55, 55, "MA"}, {56, 59, "VT"}, {60, 69, "CT"},
	{70, 89, "NJ"}, {90, 99, "AE"}, {100, 149, "NY"}, {150, 196, "PA"},
	{197, 199, "DE"}, {200, 200, "DC"}, {201, 201, "VA"}, {202, 205, "DC"},
	{206, 219, "MD"}, {220, 246, "VA"}, {247, 268, "WV"}, {270, 289, "NC"},
	{290, 299, "SC"}, {300, 319, "GA"}, {320, 339, "FL"}, {340, 340, "AA"},
	{341, 349, "FL"}, {350, 369, "AL"}, {370, 385, "TN"}, {386, 397, "MS"},
	{398, 399, "GA"}, {400, 427, "KY"}, {430, 459, "OH"}, {460, 479, "IN"},
	{480, 499, "MI"}, {500, 528, "IA"}, {530, 549, "WI"}, {550, 567, "MN"},
	{569, 569, "DC"}, {570, 577, "SD"}, {580, 588, "ND"}, {590, 599, "MT"},
	{600, 629, "IL"}, {630, 658, "MO"}, {660, 679, "KS"}, {680, 693, "NE"},
	{700, 714, "LA"}, {716, 729, "AR"}, {730, 749, "OK"}, {750, 799, "TX"},
	{800, 816, "CO"}, {820, 831, "WY"}, {832, 838, "ID"}, {840, 847, "UT"},
	{850, 865, "AZ"}, {870, 884, "NM"}, {885, 885, "TX"}, {889, 898, "NV"},
	{900, 961, "CA"}, {962, 966, "AP"}, {967, 968, "HI"}, {969, 969, "GU"},
	{970, 979, "OR"}, {980, 994, "WA"}, {995, 999, "AK"},
}

// StateOf returns the state of a US ZIP code from its first three digits,
// or "" when the code is not a ZIP or its prefix is unassigned.
func StateOf(postalCode string) string {
	if len(postalCode) < 5 {
		return ""
	}
	for i := 0; i < 5; i++ {
		if postalCode[i] < '0' || postalCode[i] > '9' {
			return ""
		}
	}
	prefix, _ := strconv.Atoi(postalCode[:3])
	for _, r := range zipStates {
		if prefix >= r.lo && prefix <= r.hi {
			return r.state
		}
	}
	return ""
}
