// Package gate is the small contract between booking and eligibility: what
// the booking transaction asks the rules before it takes a seat. It lives
// apart so that booking depends on the question, not on the rule engine.
package gate

import "time"

// Check is one booking's question to the rules.
type Check struct {
	PersonID    int64
	DecisionRef string
	Region      string // region code of the slot's site
	VaccineCode string
	Dose        int
	SlotStart   time.Time
	Now         time.Time
	// Lang is the caller's language ("en", "es") for the reasons' messages
	// of a refusal; empty means English.
	Lang string
	// ProductMinAge is the minimum age of VaccineCode when the caller has
	// read it already (booking has, with the slot); nil makes the rules
	// read it.
	ProductMinAge *int
	// Memo, when set, lets checks of bookings that share a transaction
	// reuse what does not depend on the person.
	Memo *Memo
}

// Memo keeps what the rules read once per transaction. When several
// bookings for one slot share a transaction, the slot's region has the
// same freeze, jurisdiction and active version for all of them, so they
// are read once and reused; each booking's own decision is still read and
// checked. A Memo belongs to one transaction and one goroutine.
type Memo struct {
	values map[string]any
}

// Get returns the value stored under key.
func (m *Memo) Get(key string) (any, bool) {
	if m == nil {
		return nil, false
	}
	v, ok := m.values[key]
	return v, ok
}

// Put stores v under key; on a nil Memo it does nothing.
func (m *Memo) Put(key string, v any) {
	if m == nil {
		return
	}
	if m.values == nil {
		m.values = map[string]any{}
	}
	m.values[key] = v
}
