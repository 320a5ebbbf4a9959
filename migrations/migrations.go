// Package migrations embeds the schema migrations, one folder per SQL dialect with
// matching version numbers, for goose to apply. It holds no logic.
package migrations

import "embed"

// FS holds sqlite/*.sql and postgres/*.sql.
//
//go:embed sqlite/*.sql postgres/*.sql
var FS embed.FS
