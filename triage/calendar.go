package triage

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/feedbackhub/feedbackhub/config"
)

// maxScanDays bounds how far calendar arithmetic walks (ten years), so that a calendar
// with almost no working time cannot loop for ever.
const maxScanDays = 3660

// Calendar is a business calendar: working hours per weekday, read as wall-clock times
// in one IANA time zone, minus holidays. Because each day's window is built from its
// local wall-clock time, a 09:00-17:00 day stays eight business hours across DST
// changes, and a 00:00-24:00 day is 23 or 25 hours long on the change days.
//
// A nil *Calendar means "always open": business time equals elapsed time.
type Calendar struct {
	name     string
	loc      *time.Location
	hours    [7]dayHours // indexed by time.Weekday
	holidays map[civilDate]bool
}

// dayHours is one weekday's working window in minutes after local midnight; end may be
// 1440 (24:00). start == end means the day is not worked.
type dayHours struct{ start, end int }

// civilDate is a calendar date without a zone.
type civilDate struct {
	y int
	m time.Month
	d int
}

func dateOf(t time.Time) civilDate {
	y, m, d := t.Date()
	return civilDate{y, m, d}
}

var weekdayKeys = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// NewCalendar builds a calendar. hours maps mon..sun to "HH:MM-HH:MM"; a missing day
// is not worked. holidays are YYYY-MM-DD dates in the calendar's zone.
func NewCalendar(name, timezone string, hours map[string]string, holidays []string) (*Calendar, error) {
	loc, err := time.LoadLocation(timezone)
	if err != nil || timezone == "" {
		return nil, fmt.Errorf("calendar %s: unknown time zone %q", name, timezone)
	}
	c := &Calendar{name: name, loc: loc, holidays: map[civilDate]bool{}}
	worked := false
	for day, span := range hours {
		wd, ok := weekdayKeys[strings.ToLower(day)]
		if !ok {
			return nil, fmt.Errorf("calendar %s: unknown weekday %q (want mon … sun)", name, day)
		}
		h, err := parseSpan(span)
		if err != nil {
			return nil, fmt.Errorf("calendar %s: hours.%s: %w", name, day, err)
		}
		c.hours[wd] = h
		worked = worked || h.end > h.start
	}
	if !worked {
		return nil, fmt.Errorf("calendar %s: no working hours on any day", name)
	}
	for _, h := range holidays {
		d, err := time.Parse("2006-01-02", strings.TrimSpace(h))
		if err != nil {
			return nil, fmt.Errorf("calendar %s: holiday %q is not a date (YYYY-MM-DD)", name, h)
		}
		c.holidays[dateOf(d)] = true
	}
	return c, nil
}

// CalendarFromConfig builds a calendar from its config entry; a holidays_file (an iCal
// .ics file) is resolved against baseDir and its all-day events become holidays.
func CalendarFromConfig(cc config.Calendar, baseDir string) (*Calendar, error) {
	holidays := append([]string(nil), cc.Holidays...)
	if cc.HolidaysFile != "" {
		path := cc.HolidaysFile
		if !filepath.IsAbs(path) && baseDir != "" {
			path = filepath.Join(baseDir, path)
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("calendar %s: holidays file: %w", cc.Name, err)
		}
		days, err := ParseICSHolidays(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("calendar %s: holidays file %s: %w", cc.Name, cc.HolidaysFile, err)
		}
		holidays = append(holidays, days...)
	}
	return NewCalendar(cc.Name, cc.Timezone, cc.Hours, holidays)
}

func parseSpan(s string) (dayHours, error) {
	from, to, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return dayHours{}, fmt.Errorf("%q is not HH:MM-HH:MM", s)
	}
	a, err1 := parseClock(from)
	b, err2 := parseClock(to)
	if err1 != nil || err2 != nil || b < a {
		return dayHours{}, fmt.Errorf("%q is not HH:MM-HH:MM with start before end", s)
	}
	return dayHours{a, b}, nil
}

func parseClock(s string) (int, error) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, errors.New("bad time")
	}
	if _, err := fmt.Sscanf(s, "%02d:%02d", &h, &m); err != nil {
		return 0, err
	}
	if h > 24 || m > 59 || (h == 24 && m != 0) {
		return 0, errors.New("bad time")
	}
	return h*60 + m, nil
}

// Name is the calendar's configured name.
func (c *Calendar) Name() string {
	if c == nil {
		return "always"
	}
	return c.name
}

// Location is the calendar's time zone.
func (c *Calendar) Location() *time.Location {
	if c == nil {
		return time.UTC
	}
	return c.loc
}

// IsHoliday reports whether the local date of t is a holiday.
func (c *Calendar) IsHoliday(t time.Time) bool {
	return c != nil && c.holidays[dateOf(t.In(c.loc))]
}

// window returns the working window of the local day that starts at midnight, or ok
// false when that day is not worked.
func (c *Calendar) window(midnight time.Time) (from, to time.Time, ok bool) {
	h := c.hours[midnight.Weekday()]
	if h.end <= h.start || c.holidays[dateOf(midnight)] {
		return time.Time{}, time.Time{}, false
	}
	y, m, d := midnight.Date()
	from = time.Date(y, m, d, h.start/60, h.start%60, 0, 0, c.loc)
	to = time.Date(y, m, d, h.end/60, h.end%60, 0, 0, c.loc)
	return from, to, true
}

func (c *Calendar) midnight(t time.Time) time.Time {
	y, m, d := t.In(c.loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, c.loc)
}

func nextMidnight(m time.Time) time.Time {
	y, mo, d := m.Date()
	return time.Date(y, mo, d+1, 0, 0, 0, 0, m.Location())
}

// AddBusiness returns the instant at which d of business time has passed after start.
// A start outside working hours counts from the next opening; d <= 0 returns start.
// The result is in the calendar's zone.
func (c *Calendar) AddBusiness(start time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return start
	}
	if c == nil {
		return start.Add(d)
	}
	t := start.In(c.loc)
	day := c.midnight(t)
	for range maxScanDays {
		if from, to, ok := c.window(day); ok {
			if t.Before(from) {
				t = from
			}
			if t.Before(to) {
				if avail := to.Sub(t); d <= avail {
					return t.Add(d)
				} else {
					d -= avail
				}
			}
		}
		day = nextMidnight(day)
		t = day
	}
	return t
}

// BusinessBetween returns the business time between a and b (zero when b is not after a).
func (c *Calendar) BusinessBetween(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	if c == nil {
		return b.Sub(a)
	}
	var total time.Duration
	day := c.midnight(a)
	for range maxScanDays {
		if !day.Before(b) {
			break
		}
		if from, to, ok := c.window(day); ok {
			if from.Before(a) {
				from = a
			}
			if to.After(b) {
				to = b
			}
			if to.After(from) {
				total += to.Sub(from)
			}
		}
		day = nextMidnight(day)
	}
	return total
}

// ParseICSHolidays reads the all-day events of an iCalendar (.ics) file and returns
// their dates as YYYY-MM-DD. It understands folded lines, DTSTART with or without
// VALUE=DATE, and DTEND (exclusive) for multi-day events; recurrence rules are not
// expanded, so a yearly holiday must be listed once per year.
func ParseICSHolidays(r io.Reader) ([]string, error) {
	var lines []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := strings.TrimRight(sc.Text(), "\r")
		if (strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t")) && len(lines) > 0 {
			lines[len(lines)-1] += l[1:]
			continue
		}
		lines = append(lines, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("ics: read: %w", err)
	}
	var out []string
	in := false
	var start, end string
	for n, l := range lines {
		name, value := icsProp(l)
		switch {
		case name == "BEGIN" && value == "VEVENT":
			in, start, end = true, "", ""
		case name == "END" && value == "VEVENT":
			if !in {
				return nil, fmt.Errorf("ics: line %d: END:VEVENT without BEGIN", n+1)
			}
			in = false
			if start == "" {
				return nil, fmt.Errorf("ics: line %d: event without DTSTART", n+1)
			}
			days, err := icsDays(start, end)
			if err != nil {
				return nil, fmt.Errorf("ics: line %d: %w", n+1, err)
			}
			out = append(out, days...)
		case in && name == "DTSTART":
			start = value
		case in && name == "DTEND":
			end = value
		}
	}
	if in {
		return nil, errors.New("ics: unterminated VEVENT")
	}
	return out, nil
}

// icsProp splits "NAME;PARAM=X:VALUE" into the upper-case name and the value.
func icsProp(l string) (name, value string) {
	i := strings.IndexAny(l, ";:")
	if i < 0 {
		return strings.ToUpper(l), ""
	}
	name = strings.ToUpper(l[:i])
	rest := l[i:]
	quoted := false
	for j, r := range rest {
		switch {
		case r == '"':
			quoted = !quoted
		case r == ':' && !quoted:
			return name, strings.TrimSpace(rest[j+1:])
		}
	}
	return name, ""
}

func icsDate(v string) (time.Time, error) {
	if len(v) < 8 {
		return time.Time{}, fmt.Errorf("bad date %q", v)
	}
	d, err := time.Parse("20060102", v[:8])
	if err != nil {
		return time.Time{}, fmt.Errorf("bad date %q", v)
	}
	return d, nil
}

func icsDays(start, end string) ([]string, error) {
	s, err := icsDate(start)
	if err != nil {
		return nil, err
	}
	days := []string{s.Format("2006-01-02")}
	if end == "" || len(end) != 8 { // DTEND only spans days for VALUE=DATE events
		return days, nil
	}
	e, err := icsDate(end)
	if err != nil {
		return nil, err
	}
	for d := s.AddDate(0, 0, 1); d.Before(e) && len(days) < 366; d = d.AddDate(0, 0, 1) {
		days = append(days, d.Format("2006-01-02"))
	}
	return days, nil
}
