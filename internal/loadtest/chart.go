package loadtest

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"strconv"
	"strings"
)

// Chart dimensions and colours.
const (
	chartW, chartH = 1000, 620
	marginL        = 90
	marginR        = 30
	panelGap       = 70
	textScale      = 2
)

var (
	colBackground = color.RGBA{255, 255, 255, 255}
	colAxis       = color.RGBA{60, 60, 60, 255}
	colGrid       = color.RGBA{225, 225, 225, 255}
	colQueue      = color.RGBA{0, 94, 162, 255}
	colBookings   = color.RGBA{0, 133, 60, 255}
)

// WriteChart draws the run's timeline as a PNG: queue depth on top,
// bookings per second below, one point per second. It uses only the
// standard library's image packages (and a 3x5 pixel font below), so the
// chart costs the module no dependency.
func (r *Report) WriteChart(w io.Writer) error {
	img := image.NewRGBA(image.Rect(0, 0, chartW, chartH))
	fill(img, img.Bounds(), colBackground)
	depth := make([]float64, len(r.Timeline))
	booked := make([]float64, len(r.Timeline))
	for i, s := range r.Timeline {
		depth[i], booked[i] = float64(s.QueueDepth), float64(s.Bookings)
	}
	title := fmt.Sprintf("VAXBOOK LOAD RUN: %d PEOPLE, %d BOOKED", r.People, r.Funnel[StageBooked])
	drawText(img, marginL, 12, title, colAxis)
	panelH := (chartH - 40 - 2*panelGap) / 2
	top := image.Rect(marginL, 50, chartW-marginR, 50+panelH)
	bottom := image.Rect(marginL, top.Max.Y+panelGap, chartW-marginR, top.Max.Y+panelGap+panelH)
	drawPanel(img, top, depth, "QUEUE DEPTH (PEOPLE WAITING)", colQueue, false)
	drawPanel(img, bottom, booked, "BOOKINGS PER SECOND", colBookings, true)
	drawText(img, bottom.Min.X+bottom.Dx()/2-60, bottom.Max.Y+30, "SECONDS SINCE START", colAxis)
	return png.Encode(w, img)
}

// drawPanel draws one series in rect with axes, grid and labels.
func drawPanel(img *image.RGBA, rect image.Rectangle, ys []float64, label string, col color.RGBA, bars bool) {
	drawText(img, rect.Min.X, rect.Min.Y-20, label, col)
	maxY := 0.0
	for _, y := range ys {
		maxY = math.Max(maxY, y)
	}
	yTop := niceCeil(maxY)
	n := max(len(ys), 1)
	for i := 0; i <= 4; i++ {
		v := yTop * float64(i) / 4
		py := rect.Max.Y - int(float64(rect.Dy())*float64(i)/4)
		hline(img, rect.Min.X, rect.Max.X, py, colGrid)
		s := formatNum(v)
		drawText(img, rect.Min.X-8-textWidth(s), py-5, s, colAxis)
	}
	step := niceCeil(float64(n) / 8)
	for t := 0.0; t <= float64(n); t += step {
		px := rect.Min.X + int(float64(rect.Dx())*t/float64(n))
		vline(img, px, rect.Min.Y, rect.Max.Y, colGrid)
		s := formatNum(t)
		drawText(img, px-textWidth(s)/2, rect.Max.Y+8, s, colAxis)
	}
	hline(img, rect.Min.X, rect.Max.X, rect.Max.Y, colAxis)
	vline(img, rect.Min.X, rect.Min.Y, rect.Max.Y, colAxis)
	x := func(i float64) int { return rect.Min.X + int(float64(rect.Dx())*i/float64(n)) }
	y := func(v float64) int { return rect.Max.Y - int(float64(rect.Dy())*v/yTop) }
	for i, v := range ys {
		if bars {
			fill(img, image.Rect(x(float64(i)), y(v), max(x(float64(i+1)), x(float64(i))+1), rect.Max.Y), col)
			continue
		}
		if i > 0 {
			line(img, x(float64(i-1)+0.5), y(ys[i-1]), x(float64(i)+0.5), y(v), col)
		}
	}
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func formatNum(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.SetRGBA(x, y, c)
		}
	}
}

func hline(img *image.RGBA, x0, x1, y int, c color.RGBA) { fill(img, image.Rect(x0, y, x1+1, y+1), c) }
func vline(img *image.RGBA, x, y0, y1 int, c color.RGBA) { fill(img, image.Rect(x, y0, x+1, y1+1), c) }

// line draws a two-pixel-wide segment (Bresenham).
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for {
		fill(img, image.Rect(x0, y0, x0+2, y0+2), c)
		if x0 == x1 && y0 == y1 {
			return
		}
		if e2 := 2 * e; e2 >= dy {
			e += dy
			x0 += sx
		} else {
			e += dx
			y0 += sy
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func sign(v int) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// glyphs is a 3x5 pixel font: enough for labels and numbers.
var glyphs = map[rune][5]string{
	'0': {"###", "#.#", "#.#", "#.#", "###"}, '1': {".#.", "##.", ".#.", ".#.", "###"},
	'2': {"###", "..#", "###", "#..", "###"}, '3': {"###", "..#", "###", "..#", "###"},
	'4': {"#.#", "#.#", "###", "..#", "..#"}, '5': {"###", "#..", "###", "..#", "###"},
	'6': {"###", "#..", "###", "#.#", "###"}, '7': {"###", "..#", "..#", ".#.", ".#."},
	'8': {"###", "#.#", "###", "#.#", "###"}, '9': {"###", "#.#", "###", "..#", "###"},
	'A': {".#.", "#.#", "###", "#.#", "#.#"}, 'B': {"##.", "#.#", "##.", "#.#", "##."},
	'C': {"###", "#..", "#..", "#..", "###"}, 'D': {"##.", "#.#", "#.#", "#.#", "##."},
	'E': {"###", "#..", "##.", "#..", "###"}, 'F': {"###", "#..", "##.", "#..", "#.."},
	'G': {"###", "#..", "#.#", "#.#", "###"}, 'H': {"#.#", "#.#", "###", "#.#", "#.#"},
	'I': {"###", ".#.", ".#.", ".#.", "###"}, 'J': {"..#", "..#", "..#", "#.#", "###"},
	'K': {"#.#", "#.#", "##.", "#.#", "#.#"}, 'L': {"#..", "#..", "#..", "#..", "###"},
	'M': {"#.#", "###", "###", "#.#", "#.#"}, 'N': {"##.", "#.#", "#.#", "#.#", "#.#"},
	'O': {"###", "#.#", "#.#", "#.#", "###"}, 'P': {"###", "#.#", "###", "#..", "#.."},
	'Q': {"###", "#.#", "#.#", "###", "..#"}, 'R': {"##.", "#.#", "##.", "#.#", "#.#"},
	'S': {"###", "#..", "###", "..#", "###"}, 'T': {"###", ".#.", ".#.", ".#.", ".#."},
	'U': {"#.#", "#.#", "#.#", "#.#", "###"}, 'V': {"#.#", "#.#", "#.#", "#.#", ".#."},
	'W': {"#.#", "#.#", "###", "###", "#.#"}, 'X': {"#.#", "#.#", ".#.", "#.#", "#.#"},
	'Y': {"#.#", "#.#", ".#.", ".#.", ".#."}, 'Z': {"###", "..#", ".#.", "#..", "###"},
	'.': {"...", "...", "...", "...", ".#."}, ',': {"...", "...", "...", ".#.", "#.."},
	':': {"...", ".#.", "...", ".#.", "..."}, '-': {"...", "...", "###", "...", "..."},
	'/': {"..#", "..#", ".#.", "#..", "#.."}, '(': {".#.", "#..", "#..", "#..", ".#."},
	')': {".#.", "..#", "..#", "..#", ".#."}, ' ': {"...", "...", "...", "...", "..."},
}

func textWidth(s string) int { return len(s) * 4 * textScale }

// drawText writes s (upper-cased) with its top-left corner at (x, y).
func drawText(img *image.RGBA, x, y int, s string, c color.RGBA) {
	for _, r := range strings.ToUpper(s) {
		g, ok := glyphs[r]
		if !ok {
			g = glyphs[' ']
		}
		for row, bits := range g {
			for col, b := range bits {
				if b == '#' {
					px, py := x+col*textScale, y+row*textScale
					fill(img, image.Rect(px, py, px+textScale, py+textScale), c)
				}
			}
		}
		x += 4 * textScale
	}
}
