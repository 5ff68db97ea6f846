package geo

import "math"

// EarthRadiusKm is the mean radius of the Earth.
const EarthRadiusKm = 6371.0088

// DistanceKm returns the great-circle (haversine) distance between a and b.
func DistanceKm(a, b Point) float64 {
	const rad = math.Pi / 180
	dLat := (b.Lat - a.Lat) * rad
	dLng := (b.Lng - a.Lng) * rad
	s := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(a.Lat*rad)*math.Cos(b.Lat*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * EarthRadiusKm * math.Asin(math.Min(1, math.Sqrt(s)))
}

// latSpan returns how many degrees of latitude radiusKm covers, so a search
// can skip sites outside a latitude band before computing any distance.
func latSpan(radiusKm float64) float64 {
	return radiusKm / (EarthRadiusKm * math.Pi / 180)
}
