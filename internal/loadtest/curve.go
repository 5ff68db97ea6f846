package loadtest

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Curve kinds.
const (
	// CurveBurst is opening day: arrivals fall off exponentially from the
	// opening, so most people come in the first minutes.
	CurveBurst = "burst"
	// CurveUniform spreads arrivals evenly over the window.
	CurveUniform = "uniform"
	// CurveSpike brings everyone at the opening instant.
	CurveSpike = "spike"
)

// Curve is the shape of arrivals over the arrival window.
type Curve struct {
	Kind string
	// Tau is the burst's time constant (default a fifth of the window).
	Tau time.Duration
}

// ParseCurve reads "burst", "burst:30s", "uniform" or "spike".
func ParseCurve(s string) (Curve, error) {
	kind, arg, _ := strings.Cut(s, ":")
	c := Curve{Kind: kind}
	switch kind {
	case CurveBurst:
		if arg != "" {
			d, err := time.ParseDuration(arg)
			if err != nil || d <= 0 {
				return Curve{}, fmt.Errorf("curve %q: bad time constant", s)
			}
			c.Tau = d
		}
	case CurveUniform, CurveSpike:
		if arg != "" {
			return Curve{}, fmt.Errorf("curve %q takes no argument", kind)
		}
	default:
		return Curve{}, fmt.Errorf("unknown curve %q (burst[:TAU], uniform, spike)", s)
	}
	return c, nil
}

func (c Curve) String() string {
	if c.Kind == CurveBurst && c.Tau > 0 {
		return fmt.Sprintf("%s:%s", c.Kind, c.Tau)
	}
	return c.Kind
}

// Offset returns when the i-th of n people arrives after the opening. It
// inverts the curve's distribution at evenly spaced quantiles, so a run's
// arrivals follow the curve exactly rather than by chance.
func (c Curve) Offset(i, n int, window time.Duration) time.Duration {
	if window <= 0 || n <= 0 {
		return 0
	}
	u := (float64(i) + 0.5) / float64(n)
	w := window.Seconds()
	switch c.Kind {
	case CurveSpike:
		return 0
	case CurveUniform:
		return time.Duration(u * w * float64(time.Second))
	}
	tau := c.Tau.Seconds()
	if tau <= 0 {
		tau = w / 5
	}
	// Exponential truncated to the window: F(t) = (1-e^(-t/tau)) / (1-e^(-w/tau)).
	t := -tau * math.Log(1-u*(1-math.Exp(-w/tau)))
	return time.Duration(t * float64(time.Second))
}
