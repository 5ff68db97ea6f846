// Package rules carries the example rule versions in the binary, so that
// serve --demo can publish them on a fresh machine.
package rules

import "embed"

// Massachusetts2021 holds massachusetts-2021/*.yaml: the Commonwealth's
// COVID-19 vaccine eligibility timeline of 2020-2021, one file per version.
//
//go:embed massachusetts-2021/*.yaml
var Massachusetts2021 embed.FS

// Massachusetts2021Dir is the folder inside Massachusetts2021.
const Massachusetts2021Dir = "massachusetts-2021"
