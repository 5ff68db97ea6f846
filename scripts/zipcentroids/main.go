// Command zipcentroids turns the shared ZIP centroid CSV (zip,latitude,
// longitude) into the compact file that internal/geo embeds: ZIPs sorted,
// each record three zigzag varints (the ZIP and the coordinates in units of
// 1e-5 degrees, about a metre, each as a difference from the previous
// record), the whole gzip-compressed. Differences keep the numbers small
// because neighbouring ZIPs lie close together.
//
//	go run ./scripts/zipcentroids -in ../shared/data/geo/us-zip-centroids.csv \
//	    -out internal/geo/zipcentroids.bin.gz
package main

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
)

type row struct {
	zip      int64
	lat, lng int64
}

func main() {
	in := flag.String("in", "../shared/data/geo/us-zip-centroids.csv", "source CSV")
	out := flag.String("out", "internal/geo/zipcentroids.bin.gz", "compact output")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "zipcentroids:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	rows, err := read(in)
	if err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	zw, err := gzip.NewWriterLevel(f, gzip.BestCompression)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(zw)
	var prev row
	buf := make([]byte, binary.MaxVarintLen64)
	for _, r := range rows {
		for _, d := range []int64{r.zip - prev.zip, r.lat - prev.lat, r.lng - prev.lng} {
			n := binary.PutVarint(buf, d)
			if _, err := bw.Write(buf[:n]); err != nil {
				return err
			}
		}
		prev = r
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	fmt.Printf("%d ZIP centroids written to %s\n", len(rows), out)
	return f.Close()
}

func read(path string) ([]row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cr := csv.NewReader(f)
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	if len(header) != 3 || header[0] != "zip" {
		return nil, fmt.Errorf("unexpected header %v", header)
	}
	var rows []row
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		r, err := parse(rec)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", len(rows)+2, err)
		}
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].zip < rows[j].zip })
	return rows, nil
}

func parse(rec []string) (row, error) {
	if len(rec[0]) != 5 {
		return row{}, fmt.Errorf("zip %q is not 5 digits", rec[0])
	}
	zip, err := strconv.ParseInt(rec[0], 10, 64)
	if err != nil {
		return row{}, err
	}
	lat, err1 := strconv.ParseFloat(rec[1], 64)
	lng, err2 := strconv.ParseFloat(rec[2], 64)
	if err1 != nil || err2 != nil {
		return row{}, fmt.Errorf("bad coordinates %q,%q", rec[1], rec[2])
	}
	return row{zip: zip, lat: int64(math.Round(lat * 1e5)), lng: int64(math.Round(lng * 1e5))}, nil
}
