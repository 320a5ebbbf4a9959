package mailparse

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// replyExpectation is what github/email_reply_parser's own suite states about each
// fixture, restated for VisibleText (quoted lines are hidden everywhere, inline
// replies between them stay).
type replyExpectation struct {
	equal     string
	prefix    string
	suffix    string
	contains  []string
	notContan []string
}

var replyExpectations = map[string]replyExpectation{
	"correct_sig":                      {equal: "this is an email with a correct -- signature."},
	"email_1_1":                        {prefix: "Hi folks\n\nWhat is the best way", suffix: "I am currently using the Java HTTP API.", notContan: []string{"Abhishek", "riak-users"}},
	"email_1_2":                        {prefix: "Hi,\n\nYou can list the keys", suffix: "delete them all individually.\"", notContan: []string{"wrote:", "> ", "Hi folks", "mailing list"}},
	"email_1_3":                        {prefix: "Oh thanks.\n\nHaving", suffix: "Having the function would be great.", notContan: []string{"-Abhishek", "wrote:", ">"}},
	"email_1_4":                        {equal: "Awesome! I haven't had another problem with it."},
	"email_1_5":                        {prefix: "One: Here's what I've got.", suffix: "It goes on and on\nfor a while.", contains: []string{"- This is the fourth bullet point\n\nTwo:"}},
	"email_1_6":                        {equal: "I get proper rendering as well."},
	"email_1_7":                        {equal: ":+1:"},
	"email_1_8":                        {equal: "I will reply under this one\n\nand under this."},
	"email_2_1":                        {equal: "Outlook with a reply"},
	"email_2_2":                        {equal: "Outlook with a reply directly above line"},
	"email_2_3":                        {equal: "Outlook with a reply directly above line"},
	"email_bullets":                    {equal: "test 2 this should list second\n\nand have spaces\n\nand retain this formatting\n\n\n   - how about bullets\n   - and another"},
	"email_long_quote":                 {prefix: "Hi folks\n\nWhat is the best way", suffix: "I am currently using the Java HTTP API.", contains: []string{"\nasdf\nA>>>"}, notContan: []string{"\n>", "Abhishek"}},
	"email_one_is_not_on":              {prefix: "Thank, this is really helpful.\n\nOne outstanding question I had:", suffix: "Locally (on development), when I run...", notContan: []string{"On Oct 1", "good news"}},
	"email_sent_from_my_not_signature": {equal: "Here is another email\n\nSent from my desk, is much easier then my mobile phone."},
}

func (e replyExpectation) problems(got string) []string {
	var p []string
	if e.equal != "" && got != e.equal {
		p = append(p, "want exactly "+quoteShort(e.equal))
	}
	if e.prefix != "" && !strings.HasPrefix(got, e.prefix) {
		p = append(p, "want prefix "+quoteShort(e.prefix))
	}
	if e.suffix != "" && !strings.HasSuffix(got, e.suffix) {
		p = append(p, "want suffix "+quoteShort(e.suffix))
	}
	for _, s := range e.contains {
		if !strings.Contains(got, s) {
			p = append(p, "want to contain "+quoteShort(s))
		}
	}
	for _, s := range e.notContan {
		if strings.Contains(got, s) {
			p = append(p, "want not to contain "+quoteShort(s))
		}
	}
	return p
}

func quoteShort(s string) string { return "\"" + clip(s, 80) + "\"" }

func TestReplyParserGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "reply-parser", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	matched := 0
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".txt")
		in, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got := VisibleText(string(in))
		golden := strings.TrimSuffix(f, ".txt") + ".golden"
		if *update {
			if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Errorf("%s: %v (run with -update)", name, err)
			continue
		}
		if got != string(want) {
			t.Errorf("%s: visible text differs from %s:\n got: %q\nwant: %q", name, golden, clip(got, 400), clip(string(want), 400))
		}
		exp, ok := replyExpectations[name]
		if !ok {
			t.Errorf("%s: no stated expectation; add one to replyExpectations", name)
			continue
		}
		if p := exp.problems(got); len(p) > 0 {
			t.Errorf("%s: not the expected visible text: %s\n got: %q", name, strings.Join(p, "; "), clip(got, 400))
			continue
		}
		matched++
	}
	t.Logf("%d of %d reply-parser fixtures give the expected visible text", matched, len(files))
}

// BenchmarkVisibleTextLongQuote carries the "parse email_long_quote quickly" check:
// the upstream suite wants it well under a second.
func BenchmarkVisibleTextLongQuote(b *testing.B) {
	in, err := os.ReadFile(filepath.Join("testdata", "reply-parser", "email_long_quote.txt"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		VisibleText(string(in))
	}
}
