// Package configs embeds the starter files `feedbackhub init` writes (a commented
// feedbackhub.yaml and the starter rules.yaml) and the bundled pilot data.
package configs

import "embed"

// FS holds the starter config and rules, and the bundled pilot data under pilot/.
//
//go:embed *.yaml pilot/*
var FS embed.FS

// StarterConfig is the file name of the commented starter config in FS.
const StarterConfig = "feedbackhub.yaml"

// StarterRules is the file name of the starter rules in FS.
const StarterRules = "rules.yaml"

// PilotDir is the folder in FS with the pilot's exports, config and ground truth.
const PilotDir = "pilot"
