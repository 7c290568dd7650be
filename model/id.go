package model

import "crypto/rand"

// IDLetters is the number of random letters after the one-letter prefix of a
// build or release ID. Convox's docs show 10 characters in all (prefix plus
// 9); slipway uses 10 letters after the prefix, as in its examples
// (BABCDEFGHIJ, RBCDEFGHIJK), so an ID is 11 characters long.
const IDLetters = 10

// Prefixes of the IDs, as in Convox.
const (
	BuildIDPrefix   = "B"
	ReleaseIDPrefix = "R"
	// PromotionIDPrefix is slipway's own: promotions are records too.
	PromotionIDPrefix = "P"
)

// NewBuildID returns a fresh build ID such as "BABCDEFGHIJ".
func NewBuildID() string { return newID(BuildIDPrefix) }

// NewReleaseID returns a fresh release ID such as "RABCDEFGHIJ".
func NewReleaseID() string { return newID(ReleaseIDPrefix) }

// NewPromotionID returns a new promotion ID: P and 10 random letters.
func NewPromotionID() string { return newID(PromotionIDPrefix) }

// ValidBuildID reports whether s has the shape of a build ID. It does not
// say whether such a build exists.
func ValidBuildID(s string) bool { return validID(BuildIDPrefix, s) }

// ValidReleaseID reports whether s has the shape of a release ID. It does not
// say whether such a release exists.
func ValidReleaseID(s string) bool { return validID(ReleaseIDPrefix, s) }

// newID draws letters from crypto/rand. Bytes of 234 or more are rejected so
// that every letter is equally likely (234 = 9*26 is the largest multiple of
// 26 that fits in a byte); with 10 letters that leaves 26^10, about 1.4e14,
// IDs, so two releases of one app practically never collide.
func newID(prefix string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	out := make([]byte, 0, len(prefix)+IDLetters)
	out = append(out, prefix...)
	var buf [2 * IDLetters]byte
	for len(out) < len(prefix)+IDLetters {
		// crypto/rand.Read never fails (it crashes the program if the
		// system's random source is broken), so there is no error to return.
		_, _ = rand.Read(buf[:])
		for _, b := range buf {
			if b >= 234 {
				continue
			}
			out = append(out, alphabet[b%26])
			if len(out) == len(prefix)+IDLetters {
				break
			}
		}
	}
	return string(out)
}

func validID(prefix, s string) bool {
	if len(s) != len(prefix)+IDLetters || s[:len(prefix)] != prefix {
		return false
	}
	for i := len(prefix); i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}
