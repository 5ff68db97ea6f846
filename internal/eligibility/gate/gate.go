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
}
