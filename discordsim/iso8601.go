package discordsim

import (
	"strings"
	"time"
)

// A parser-free check of ISO 8601 dates and times, as an embed's
// timestamp takes them (reference.mdx, ISO8601 Date/Time).

// isISO8601 reports whether s is one of ISO 8601's complete representations
// of a date, or of a date and time of day: a calendar (YYYY-MM-DD), ordinal
// (YYYY-DDD) or week (YYYY-Www-D) date, in extended or basic format,
// optionally followed by "T", the time of day hh, hh:mm or hh:mm:ss (or
// hhmm, hhmmss) with an optional decimal fraction of its last part, and an
// optional zone: Z, ±hh, ±hh:mm or ±hhmm. Expanded years (beyond 9999 or
// signed) need an agreement between the parties and are refused.
func isISO8601(s string) bool {
	date, clock, hasTime := strings.Cut(s, "T")
	if !isoDate(date) {
		return false
	}
	return !hasTime || isoTime(clock)
}

// digits returns the value of s if it is made of n ASCII digits.
func digits(s string, n int) (int, bool) {
	if len(s) != n {
		return 0, false
	}
	v := 0
	for i := 0; i < n; i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		v = v*10 + int(s[i]-'0')
	}
	return v, true
}

func isoDate(d string) bool {
	if len(d) < 7 {
		return false
	}
	year, ok := digits(d[:4], 4)
	if !ok {
		return false
	}
	rest, extended := strings.CutPrefix(d[4:], "-")
	var x, y string // month and day, or week and weekday
	switch {
	case strings.HasPrefix(rest, "W"):
		if w := rest[1:]; extended {
			x, y, _ = strings.Cut(w, "-")
		} else if len(w) == 3 {
			x, y = w[:2], w[2:]
		}
		week, ok1 := digits(x, 2)
		weekday, ok2 := digits(y, 1)
		_, weeks := time.Date(year, 12, 28, 0, 0, 0, 0, time.UTC).ISOWeek()
		return ok1 && ok2 && week >= 1 && week <= weeks && weekday >= 1 && weekday <= 7
	case len(rest) == 3:
		yd, ok := digits(rest, 3)
		return ok && yd >= 1 && yd <= time.Date(year, 12, 31, 0, 0, 0, 0, time.UTC).YearDay()
	case extended:
		x, y, _ = strings.Cut(rest, "-")
	case len(rest) == 4:
		x, y = rest[:2], rest[2:]
	}
	month, ok1 := digits(x, 2)
	day, ok2 := digits(y, 2)
	return ok1 && ok2 && month >= 1 && month <= 12 && day >= 1 &&
		day <= time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func isoTime(c string) bool {
	if z := strings.IndexAny(c, "Z+-"); z >= 0 {
		if !isoZone(c[z:]) {
			return false
		}
		c = c[:z]
	}
	frac := ""
	if f := strings.IndexAny(c, ".,"); f >= 0 {
		c, frac = c[:f], c[f+1:]
		if frac == "" || strings.Trim(frac, "0123456789") != "" {
			return false
		}
	}
	var parts []string
	if strings.Contains(c, ":") {
		parts = strings.Split(c, ":")
	} else {
		for len(c) > 2 {
			parts, c = append(parts, c[:2]), c[2:]
		}
		parts = append(parts, c)
	}
	if len(parts) > 3 {
		return false
	}
	for i, part := range parts {
		// hour 24 is the end of the day; second 60 a leap second
		if v, ok := digits(part, 2); !ok || v > [...]int{24, 59, 60}[i] {
			return false
		}
	}
	return parts[0] != "24" || strings.Trim(strings.Join(parts[1:], "")+frac, "0") == ""
}

// isoZone reports whether z is Z or an offset ±hh, ±hh:mm or ±hhmm.
func isoZone(z string) bool {
	if z[0] == 'Z' {
		return z == "Z"
	}
	var hh, mm string
	switch rest := z[1:]; {
	case len(rest) == 2:
		hh = rest
	case len(rest) == 4:
		hh, mm = rest[:2], rest[2:]
	case len(rest) == 5 && rest[2] == ':':
		hh, mm = rest[:2], rest[3:]
	default:
		return false
	}
	h, ok := digits(hh, 2)
	if !ok || h > 23 {
		return false
	}
	m, ok := digits(mm, 2)
	return mm == "" || ok && m <= 59
}
