// Package geo turns ZIP codes into points, measures distances on the Earth
// and keeps the in-memory slot search index (the read model that answers
// GET /v1/slots without touching the booking tables per request).
package geo

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// The project's own copy of the US Census 2021 ZCTA centroids, made from
// ../shared/data/geo/us-zip-centroids.csv by scripts/zipcentroids.
//
//go:generate go run ../../scripts/zipcentroids -in ../../../shared/data/geo/us-zip-centroids.csv -out zipcentroids.bin.gz
//go:embed zipcentroids.bin.gz
var zipData []byte

// Point is a position in decimal degrees.
type Point struct {
	Lat float64 `json:"lat"`
	Lng float64 `json:"lng"`
}

type zipTable struct {
	zips     []int32
	lat, lng []int32 // units of 1e-5 degrees
}

var (
	zipOnce sync.Once
	zips    zipTable
	zipErr  error
)

// ZIPCount returns how many ZIP centroids are embedded.
func ZIPCount() int {
	loadZIPs()
	return len(zips.zips)
}

// LookupZIP returns the centroid of a US ZIP code. It accepts five digits,
// ZIP+4 ("02114-1234" or nine digits) and surrounding spaces; anything else,
// or a ZIP with no centroid, reports false.
func LookupZIP(zip string) (Point, bool) {
	z, ok := ParseZIP(zip)
	if !ok {
		return Point{}, false
	}
	return lookup(z)
}

// ParseZIP returns the five-digit ZIP of a strict ZIP or ZIP+4.
func ParseZIP(s string) (string, bool) {
	s = strings.TrimSpace(s)
	switch {
	case len(s) == 5 && digits(s):
		return s, true
	case len(s) == 10 && s[5] == '-' && digits(s[:5]) && digits(s[6:]):
		return s[:5], true
	case len(s) == 9 && digits(s):
		return s[:5], true
	}
	return "", false
}

// NormalizeZIP is ParseZIP for data from feeds: it also restores leading
// zeros that a spreadsheet or an integer column dropped, from the ZIP and
// from its +4 part ("8332-3762" and "8015-385" are 08332 and 08015).
// restored reports that zeros were added.
func NormalizeZIP(s string) (zip string, restored, ok bool) {
	if z, ok := ParseZIP(s); ok {
		return z, false, true
	}
	base, plus4, hasPlus := strings.Cut(strings.TrimSpace(s), "-")
	if hasPlus && (len(plus4) > 4 || !digits(plus4)) {
		return "", false, false
	}
	if len(base) == 5 && digits(base) {
		return base, true, true
	}
	if len(base) < 3 || len(base) > 4 || !digits(base) {
		return "", false, false
	}
	return strings.Repeat("0", 5-len(base)) + base, true, true
}

func lookup(zip string) (Point, bool) {
	loadZIPs()
	n, err := strconv.Atoi(zip)
	if err != nil || zipErr != nil {
		return Point{}, false
	}
	i := sort.Search(len(zips.zips), func(i int) bool { return zips.zips[i] >= int32(n) })
	if i == len(zips.zips) || zips.zips[i] != int32(n) {
		return Point{}, false
	}
	return Point{Lat: float64(zips.lat[i]) / 1e5, Lng: float64(zips.lng[i]) / 1e5}, true
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func loadZIPs() {
	zipOnce.Do(func() { zips, zipErr = decodeZIPs(zipData) })
	if zipErr != nil {
		// The file is embedded at build time: a broken copy is a build
		// error that every test of this package catches.
		panic(zipErr)
	}
}

// decodeZIPs reads the format scripts/zipcentroids writes: per record the
// differences of ZIP, latitude and longitude from the previous record.
func decodeZIPs(data []byte) (zipTable, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return zipTable{}, fmt.Errorf("zip centroids: %w", err)
	}
	br := bufio.NewReader(zr)
	var t zipTable
	var zip, lat, lng int64
	for {
		dz, err := binary.ReadVarint(br)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return zipTable{}, fmt.Errorf("zip centroids: %w", err)
		}
		dlat, err1 := binary.ReadVarint(br)
		dlng, err2 := binary.ReadVarint(br)
		if err1 != nil || err2 != nil {
			return zipTable{}, fmt.Errorf("zip centroids: truncated record %d", len(t.zips))
		}
		zip, lat, lng = zip+dz, lat+dlat, lng+dlng
		t.zips = append(t.zips, int32(zip))
		t.lat = append(t.lat, int32(lat))
		t.lng = append(t.lng, int32(lng))
	}
	return t, nil
}
