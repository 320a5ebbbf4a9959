// Package archtest holds tests that guard the project's shape: the one-way
// dependency rule between our packages, and the pinned module versions that must
// agree (modernc.org/libc must equal the version modernc.org/sqlite requires).
package archtest
