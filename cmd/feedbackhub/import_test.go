package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestImportIsIdempotentAndStrictFailsOnRejects(t *testing.T) {
	mbox, _ := filepath.Abs("testdata/replies.mbox")
	dir := t.TempDir()
	code, out, errOut := runCLI(t, dir, "import", "--source", "mail", "--format", "mbox", mbox)
	if code != 0 {
		t.Fatalf("import exit %d: %s %s", code, out, errOut)
	}
	m := regexp.MustCompile(`new (\d+), duplicate (\d+)`).FindStringSubmatch(out)
	if m == nil || m[1] == "0" || m[2] != "0" {
		t.Fatalf("first import summary: %q", out)
	}
	code, out, _ = runCLI(t, "", "import", "--source", "mail", "--format", "mbox", mbox)
	if code != 0 || !strings.Contains(out, "new 0,") || !strings.Contains(out, "items: 0 new") {
		t.Fatalf("re-import must store nothing new: %q", out)
	}
	csv := filepath.Join(dir, "rows.csv")
	writeFile(t, csv, "id,title,body\n1,Invoice charged twice,We were billed twice\n\"2,broken\n")
	writeFile(t, filepath.Join(dir, "feedbackhub.yaml"), `
sources:
  - name: sheet
    kind: file
    file:
      paths: [rows.csv]
      format: csv
      csv: {columns: {id: id, title: title, body: body}}
`)
	code, out, _ = runCLI(t, "", "import", "--source", "sheet", "--strict", csv)
	if code != 1 || !strings.Contains(out, "rows.csv:3:") {
		t.Fatalf("strict import with a broken row: exit %d %q", code, out)
	}
	if code, _, errOut = runCLI(t, "", "import", "--source", "nope", csv); code != 1 || !strings.Contains(errOut, `no source named "nope"`) {
		t.Fatalf("unknown source: %d %q", code, errOut)
	}
}
