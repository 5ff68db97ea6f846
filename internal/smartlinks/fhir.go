// Package smartlinks reads and writes the SMART Scheduling Links format:
// a FHIR $bulk-publish manifest that links NDJSON files of Location,
// Schedule and Slot resources. Import loads a published feed into sites and
// slots; the types here are also what our own publication writes.
package smartlinks

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Extension and code system URLs the format uses.
const (
	ExtBookingDeepLink = "http://fhir-registry.smarthealthit.org/StructureDefinition/booking-deep-link"
	ExtBookingPhone    = "http://fhir-registry.smarthealthit.org/StructureDefinition/booking-phone"
	ExtSlotCapacity    = "http://fhir-registry.smarthealthit.org/StructureDefinition/slot-capacity"
	ExtVaccineProduct  = "http://fhir-registry.smarthealthit.org/StructureDefinition/vaccine-product"
	ExtVaccineDose     = "http://fhir-registry.smarthealthit.org/StructureDefinition/vaccine-dose"
	SystemCVX          = "http://hl7.org/fhir/sid/cvx"
	SystemServiceType  = "http://terminology.hl7.org/CodeSystem/service-type"
	SystemSmartService = "http://fhir-registry.smarthealthit.org/CodeSystem/service-type"
)

// Manifest is the $bulk-publish file.
type Manifest struct {
	TransactionTime string           `json:"transactionTime"`
	Request         string           `json:"request"`
	Output          []ManifestOutput `json:"output"`
	Error           []ManifestOutput `json:"error"`
}

// ManifestOutput links one NDJSON file.
type ManifestOutput struct {
	Type      string              `json:"type"`
	URL       string              `json:"url"`
	Extension map[string][]string `json:"extension,omitempty"`
}

// Extension is a FHIR extension with the value types this format uses.
type Extension struct {
	URL          string  `json:"url"`
	ValueURL     string  `json:"valueUrl,omitempty"`
	ValueString  string  `json:"valueString,omitempty"`
	ValueInteger *int    `json:"valueInteger,omitempty"`
	ValueCoding  *Coding `json:"valueCoding,omitempty"`
}

// Coding is a code in a system.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

// CodeableConcept is a list of codings.
type CodeableConcept struct {
	Coding []Coding `json:"coding"`
}

// Reference points at another resource ("Location/123").
type Reference struct {
	Reference string `json:"reference"`
}

// ContactPoint is a phone number or a web address.
type ContactPoint struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

// Identifier is an external identifier of a location.
type Identifier struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value"`
}

// Address is a postal address.
type Address struct {
	Line       []string `json:"line"`
	City       string   `json:"city"`
	State      string   `json:"state"`
	PostalCode string   `json:"postalCode"`
	District   string   `json:"district,omitempty"`
}

// Position is a location's coordinates.
type Position struct {
	Latitude  *float64 `json:"latitude"`
	Longitude *float64 `json:"longitude"`
}

// Location is a place where appointments are available.
type Location struct {
	ResourceType string         `json:"resourceType"`
	ID           string         `json:"id"`
	Identifier   []Identifier   `json:"identifier,omitempty"`
	Name         string         `json:"name"`
	Telecom      []ContactPoint `json:"telecom"`
	Address      *Address       `json:"address"`
	Position     *Position      `json:"position,omitempty"`
	Description  string         `json:"description,omitempty"`
}

// Schedule is one service (a product and dose) offered at a location.
type Schedule struct {
	ResourceType string            `json:"resourceType"`
	ID           string            `json:"id"`
	ServiceType  []CodeableConcept `json:"serviceType"`
	Actor        []Reference       `json:"actor"`
	Extension    []Extension       `json:"extension,omitempty"`
}

// Slot is a time (possibly a whole day) with a status and a capacity.
type Slot struct {
	ResourceType string      `json:"resourceType"`
	ID           string      `json:"id"`
	Schedule     *Reference  `json:"schedule"`
	Status       string      `json:"status"`
	Start        string      `json:"start"`
	End          string      `json:"end"`
	Extension    []Extension `json:"extension,omitempty"`
}

// ImmunizationService is the serviceType the format asks for.
func ImmunizationService() []CodeableConcept {
	return []CodeableConcept{{Coding: []Coding{
		{System: SystemServiceType, Code: "57", Display: "Immunization"},
		{System: SystemSmartService, Code: "covid19-immunization", Display: "COVID-19 Immunization Appointment"},
	}}}
}

// IDPattern is what the format allows as a resource id.
var IDPattern = regexp.MustCompile(`^[A-Za-z0-9_.]{1,64}$`)

// RefID returns the id of a "Type/id" reference, or false when the
// reference names another type or has no id.
func RefID(ref, typ string) (string, bool) {
	id, ok := strings.CutPrefix(strings.TrimSpace(ref), typ+"/")
	if !ok || id == "" || strings.Contains(id, "/") {
		return "", false
	}
	return id, true
}

var isoOffset = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}(?::?\d{2})?)$`)

// ParseTime reads an ISO 8601 timestamp with an offset: RFC 3339, and the
// shorter forms feeds use ("2021-03-10T15:00:00-05", "...-0500", no
// seconds). A timestamp without an offset is an error: its instant is
// unknown.
func ParseTime(s string) (time.Time, error) {
	m := isoOffset.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return time.Time{}, fmt.Errorf("timestamp %q needs a date, a time and an offset", s)
	}
	clock, off := m[1], m[2]
	if len(clock) == 16 {
		clock += ":00"
	}
	switch {
	case off == "Z":
	case len(off) == 3:
		off += ":00"
	case len(off) == 5:
		off = off[:3] + ":" + off[3:]
	}
	t, err := time.Parse(time.RFC3339Nano, clock+off)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %q: %w", s, err)
	}
	return t, nil
}
