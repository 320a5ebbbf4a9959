package jira

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/text")

// TestTextGolden renders every testdata/text input (ADF for *.adf.json, wiki markup
// for *.wiki) and compares it with the .golden file beside it.
func TestTextGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "text", "*"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, in := range inputs {
		var render func([]byte) (string, error)
		switch {
		case strings.HasSuffix(in, ".adf.json"):
			render = func(b []byte) (string, error) { return ADFToText(b) }
		case strings.HasSuffix(in, ".wiki"):
			render = func(b []byte) (string, error) { return WikiToText(string(b)), nil }
		default:
			continue
		}
		n++
		t.Run(filepath.Base(in), func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := render(src)
			if err != nil {
				t.Fatal(err)
			}
			golden := in + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./connectors/jira -update)", err)
			}
			if got+"\n" != string(want) {
				t.Errorf("%s: got\n%s\nwant\n%s", in, got, want)
			}
		})
	}
	if n < 4 {
		t.Fatalf("only %d text inputs found", n)
	}
}

func TestFieldTextPicksFormatByJSONType(t *testing.T) {
	tests := []struct{ raw, want string }{
		{`null`, ""},
		{``, ""},
		{`"Proyecto privado \\- no se puede asignar"`, "Proyecto privado - no se puede asignar"},
		{`{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"hola"}]}]}`, "hola"},
		{`42`, ""},
	}
	for _, tt := range tests {
		if got := fieldText([]byte(tt.raw)); got != tt.want {
			t.Errorf("fieldText(%s) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

func TestADFToTextRejectsBrokenJSON(t *testing.T) {
	if _, err := ADFToText([]byte(`{"type":`)); err == nil {
		t.Fatal("want an error")
	}
}
