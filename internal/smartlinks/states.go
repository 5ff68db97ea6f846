package smartlinks

import "strings"

type state struct {
	name string
	zone string
}

// states maps a US state or territory to its name and the IANA zone of most
// of its population. States split between zones (Texas, Florida, Indiana,
// Kentucky, Tennessee, the Dakotas, Nebraska, Kansas, Oregon, Idaho,
// Michigan) get their main zone; a site in the other part shows times an
// hour off, so such feeds should carry a position and we document it.
var states = map[string]state{
	"AL": {"Alabama", "America/Chicago"}, "AK": {"Alaska", "America/Anchorage"},
	"AZ": {"Arizona", "America/Phoenix"}, "AR": {"Arkansas", "America/Chicago"},
	"CA": {"California", "America/Los_Angeles"}, "CO": {"Colorado", "America/Denver"},
	"CT": {"Connecticut", "America/New_York"}, "DE": {"Delaware", "America/New_York"},
	"DC": {"District of Columbia", "America/New_York"}, "FL": {"Florida", "America/New_York"},
	"GA": {"Georgia", "America/New_York"}, "HI": {"Hawaii", "Pacific/Honolulu"},
	"ID": {"Idaho", "America/Boise"}, "IL": {"Illinois", "America/Chicago"},
	"IN": {"Indiana", "America/Indiana/Indianapolis"}, "IA": {"Iowa", "America/Chicago"},
	"KS": {"Kansas", "America/Chicago"}, "KY": {"Kentucky", "America/New_York"},
	"LA": {"Louisiana", "America/Chicago"}, "ME": {"Maine", "America/New_York"},
	"MD": {"Maryland", "America/New_York"}, "MA": {"Massachusetts", "America/New_York"},
	"MI": {"Michigan", "America/Detroit"}, "MN": {"Minnesota", "America/Chicago"},
	"MS": {"Mississippi", "America/Chicago"}, "MO": {"Missouri", "America/Chicago"},
	"MT": {"Montana", "America/Denver"}, "NE": {"Nebraska", "America/Chicago"},
	"NV": {"Nevada", "America/Los_Angeles"}, "NH": {"New Hampshire", "America/New_York"},
	"NJ": {"New Jersey", "America/New_York"}, "NM": {"New Mexico", "America/Denver"},
	"NY": {"New York", "America/New_York"}, "NC": {"North Carolina", "America/New_York"},
	"ND": {"North Dakota", "America/Chicago"}, "OH": {"Ohio", "America/New_York"},
	"OK": {"Oklahoma", "America/Chicago"}, "OR": {"Oregon", "America/Los_Angeles"},
	"PA": {"Pennsylvania", "America/New_York"}, "RI": {"Rhode Island", "America/New_York"},
	"SC": {"South Carolina", "America/New_York"}, "SD": {"South Dakota", "America/Chicago"},
	"TN": {"Tennessee", "America/Chicago"}, "TX": {"Texas", "America/Chicago"},
	"UT": {"Utah", "America/Denver"}, "VT": {"Vermont", "America/New_York"},
	"VA": {"Virginia", "America/New_York"}, "WA": {"Washington", "America/Los_Angeles"},
	"WV": {"West Virginia", "America/New_York"}, "WI": {"Wisconsin", "America/Chicago"},
	"WY": {"Wyoming", "America/Denver"}, "PR": {"Puerto Rico", "America/Puerto_Rico"},
	"GU": {"Guam", "Pacific/Guam"}, "VI": {"U.S. Virgin Islands", "America/St_Thomas"},
	"AS": {"American Samoa", "Pacific/Pago_Pago"}, "MP": {"Northern Mariana Islands", "Pacific/Saipan"},
}

// lookupState returns the code, name and zone of a state given by its
// two-letter code or its name.
func lookupState(s string) (code string, st state, ok bool) {
	s = strings.TrimSpace(s)
	if st, ok := states[strings.ToUpper(s)]; ok {
		return strings.ToUpper(s), st, true
	}
	for c, st := range states {
		if strings.EqualFold(st.name, s) {
			return c, st, true
		}
	}
	return "", state{}, false
}
