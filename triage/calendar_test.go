package triage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/feedbackhub/feedbackhub/config"
)

func berlin(t testing.TB, holidays ...string) *Calendar {
	t.Helper()
	c, err := NewCalendar("berlin", "Europe/Berlin", map[string]string{
		"mon": "09:00-17:00", "tue": "09:00-17:00", "wed": "09:00-17:00", "thu": "09:00-17:00", "fri": "09:00-17:00",
	}, holidays)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func at(t testing.TB, c *Calendar, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, c.Location())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestAddBusiness(t *testing.T) {
	t.Parallel()
	cal := berlin(t, "2026-12-25", "2026-12-28")
	tests := []struct {
		name  string
		start string
		d     time.Duration
		want  string
	}{
		{"friday 17:00 + 4h is monday 13:00", "2026-03-06 17:00", 4 * time.Hour, "2026-03-09 13:00"},
		{"inside the day", "2026-03-04 10:00", 3 * time.Hour, "2026-03-04 13:00"},
		{"exactly to closing", "2026-03-04 13:00", 4 * time.Hour, "2026-03-04 17:00"},
		{"before opening", "2026-03-04 06:30", time.Hour, "2026-03-04 10:00"},
		{"saturday start", "2026-03-07 11:00", 2 * time.Hour, "2026-03-09 11:00"},
		{"spills into the next day", "2026-03-04 16:00", 2 * time.Hour, "2026-03-05 10:00"},
		{"holidays skipped", "2026-12-24 16:00", 2 * time.Hour, "2026-12-29 10:00"},
		{"zero", "2026-03-07 11:00", 0, "2026-03-07 11:00"},
		{"a week", "2026-03-02 09:00", 40 * time.Hour, "2026-03-06 17:00"},
		// 2026-03-29 is the last Sunday of March: clocks go 02:00 → 03:00.
		{"across spring DST", "2026-03-27 15:00", 4 * time.Hour, "2026-03-30 11:00"},
		// 2026-10-25 is the last Sunday of October: clocks go 03:00 → 02:00.
		{"across autumn DST", "2026-10-23 16:00", 10 * time.Hour, "2026-10-27 10:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := cal.AddBusiness(at(t, cal, tt.start), tt.d)
			want := at(t, cal, tt.want)
			if !got.Equal(want) {
				t.Errorf("AddBusiness(%s, %s) = %s, want %s", tt.start, tt.d, got, want)
			}
			if tt.d > 0 {
				if back := cal.BusinessBetween(at(t, cal, tt.start), got); back != tt.d {
					t.Errorf("BusinessBetween back = %s, want %s", back, tt.d)
				}
			}
		})
	}
}

func TestBusinessBetween(t *testing.T) {
	t.Parallel()
	cal := berlin(t, "2026-12-25")
	tests := []struct {
		name string
		a, b string
		want time.Duration
	}{
		{"weekend only", "2026-03-07 00:00", "2026-03-09 00:00", 0},
		{"friday afternoon to monday morning", "2026-03-06 15:00", "2026-03-09 10:00", 3 * time.Hour},
		{"holiday", "2026-12-24 00:00", "2026-12-26 00:00", 8 * time.Hour},
		{"reversed", "2026-03-09 10:00", "2026-03-06 15:00", 0},
		// The autumn DST week still has 5 × 8 business hours, though it is 169 hours long.
		{"autumn DST week", "2026-10-24 00:00", "2026-10-31 00:00", 40 * time.Hour},
		{"spring DST week", "2026-03-28 00:00", "2026-04-04 00:00", 40 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cal.BusinessBetween(at(t, cal, tt.a), at(t, cal, tt.b)); got != tt.want {
				t.Errorf("BusinessBetween = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestAroundTheClockCalendarOnDSTDays(t *testing.T) {
	t.Parallel()
	cal, err := NewCalendar("ops", "Europe/Berlin", map[string]string{"sun": "00:00-24:00"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The autumn change day has 25 hours, the spring one 23.
	if got := cal.BusinessBetween(at(t, cal, "2026-10-25 00:00"), at(t, cal, "2026-10-26 00:00")); got != 25*time.Hour {
		t.Errorf("autumn Sunday = %s", got)
	}
	if got := cal.BusinessBetween(at(t, cal, "2026-03-29 00:00"), at(t, cal, "2026-03-30 00:00")); got != 23*time.Hour {
		t.Errorf("spring Sunday = %s", got)
	}
	// An hour counted in UTC: 01:00 CEST is 23:00 UTC Saturday, +2h lands at 02:00 CET
	// after the repeated hour, i.e. 01:00 UTC.
	start := time.Date(2026, 10, 24, 23, 0, 0, 0, time.UTC)
	if got := cal.AddBusiness(start, 2*time.Hour); !got.Equal(start.Add(2 * time.Hour)) {
		t.Errorf("AddBusiness across the repeated hour = %s", got.UTC())
	}
}

func TestNilCalendarIsAlwaysOpen(t *testing.T) {
	t.Parallel()
	var c *Calendar
	a := time.Date(2026, 3, 7, 10, 0, 0, 0, time.UTC)
	if got := c.AddBusiness(a, 5*time.Hour); !got.Equal(a.Add(5 * time.Hour)) {
		t.Errorf("AddBusiness = %s", got)
	}
	if got := c.BusinessBetween(a, a.Add(30*time.Hour)); got != 30*time.Hour {
		t.Errorf("BusinessBetween = %s", got)
	}
}

func TestNewCalendarErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		tz    string
		hours map[string]string
		hol   []string
		want  string
	}{
		{"Mars/Base", map[string]string{"mon": "09:00-17:00"}, nil, `unknown time zone "Mars/Base"`},
		{"UTC", map[string]string{"mo": "09:00-17:00"}, nil, `unknown weekday "mo"`},
		{"UTC", map[string]string{"mon": "17:00-09:00"}, nil, "start before end"},
		{"UTC", nil, nil, "no working hours"},
		{"UTC", map[string]string{"mon": "09:00-17:00"}, []string{"25.12.2026"}, `holiday "25.12.2026"`},
	} {
		_, err := NewCalendar("x", tt.tz, tt.hours, tt.hol)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewCalendar(%s, %v, %v) err = %v, want %q", tt.tz, tt.hours, tt.hol, err, tt.want)
		}
	}
}

const holidaysICS = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n" +
	"BEGIN:VEVENT\r\nUID:1\r\nDTSTART;VALUE=DATE:20261225\r\nDTEND;VALUE=DATE:20261227\r\nSUMMARY:Christmas\r\nEND:VEVENT\r\n" +
	"BEGIN:VEVENT\r\nUID:2\r\nSUMMARY:Reformation\r\n  Day\r\nDTSTART;VALUE=DATE:\r\n 20261031\r\nEND:VEVENT\r\n" +
	"BEGIN:VEVENT\r\nUID:3\r\nDTSTART:20261003T000000Z\r\nSUMMARY:Unity\r\nEND:VEVENT\r\n" +
	"END:VCALENDAR\r\n"

func TestParseICSHolidays(t *testing.T) {
	t.Parallel()
	got, err := ParseICSHolidays(strings.NewReader(holidaysICS))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"2026-12-25", "2026-12-26", "2026-10-31", "2026-10-03"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("holidays = %v, want %v", got, want)
	}
	for _, bad := range []string{
		"BEGIN:VEVENT\r\nSUMMARY:x\r\nEND:VEVENT\r\n",
		"BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:2026\r\nEND:VEVENT\r\n",
		"BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20260101\r\n",
	} {
		if _, err := ParseICSHolidays(strings.NewReader(bad)); err == nil || !strings.HasPrefix(err.Error(), "ics: ") {
			t.Errorf("ParseICSHolidays(%q) err = %v", bad, err)
		}
	}
}

func FuzzParseICSHolidays(f *testing.F) {
	f.Add(holidaysICS)
	f.Fuzz(func(t *testing.T, s string) {
		days, err := ParseICSHolidays(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, d := range days {
			if _, err := time.Parse("2006-01-02", d); err != nil {
				t.Fatalf("bad day %q", d)
			}
		}
	})
}

func TestCalendarFromConfigReadsICS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "holidays.ics"), []byte(holidaysICS), 0o644); err != nil {
		t.Fatal(err)
	}
	cal, err := CalendarFromConfig(config.Calendar{Name: "berlin", Timezone: "Europe/Berlin",
		Hours: map[string]string{"mon": "09:00-17:00", "tue": "09:00-17:00", "fri": "09:00-17:00"}, HolidaysFile: "holidays.ics"}, dir)
	if err != nil {
		t.Fatal(err)
	}
	// Thursday is not worked here and Friday 2026-12-25 is a holiday from the file:
	// Thu 24 16:00 + 2h lands on Mon 28 11:00.
	if got := cal.AddBusiness(at(t, cal, "2026-12-24 16:00"), 2*time.Hour); !got.Equal(at(t, cal, "2026-12-28 11:00")) {
		t.Errorf("AddBusiness over ics holidays = %s", got)
	}
	if _, err := CalendarFromConfig(config.Calendar{Name: "x", Timezone: "UTC", HolidaysFile: "nope.ics"}, dir); err == nil ||
		!strings.Contains(err.Error(), "calendar x: holidays file") {
		t.Errorf("missing file err = %v", err)
	}
}
