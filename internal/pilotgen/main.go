// Command pilotgen writes the bundled pilot data set of `feedbackhub pilot` into
// configs/pilot: a support mbox, a GitHub issues export, a Jira search export, a JSONL
// file of partner webhook events, the ground truth of the intended clusters and
// categories, the pilot config and a README.
//
// The data is fictional. Every text is hand-written in texts.go as per-cluster
// templates with several wordings; this program picks wordings deterministically
// (no randomness, no clock), assigns identifiers (Message-IDs, GitHub numbers, Jira
// keys, partner ticket ids), resolves the cross-references between items and renders
// each item in the shape its source really has. Run it from the module root:
//
//	go run ./internal/pilotgen -out configs/pilot
//
// The package test regenerates into a temporary folder and compares with the
// committed files, so data and generator cannot drift apart.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	out := flag.String("out", "configs/pilot", "folder to write the pilot data set into")
	flag.Parse()
	files, err := Generate()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pilotgen:", err)
		os.Exit(1)
	}
	if err := WriteFiles(*out, files); err != nil {
		fmt.Fprintln(os.Stderr, "pilotgen:", err)
		os.Exit(1)
	}
	for _, f := range files {
		fmt.Printf("wrote %s (%d bytes)\n", filepath.Join(*out, f.Name), len(f.Data))
	}
}

// File is one generated file: its name inside the output folder and its content.
type File struct {
	Name string
	Data []byte
}

// WriteFiles writes files into dir, creating dir when needed.
func WriteFiles(dir string, files []File) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
