package model

import (
	"errors"
	"strings"
)

// SplitCommand splits a service's command into words as a POSIX shell
// does, without expanding anything, which is how Convox reads `command`
// (shellsplit): `nginx -g 'daemon off;'` is three words, not four. Its
// errors never quote the command, which may hold env values.
// Hand-written: google/shlex reads "a\d" as ad, and mvdan.cc/sh's shell.Fields expands $HOME.
func SplitCommand(cmd string) ([]string, error) {
	var words []string
	var word strings.Builder
	inWord := false
	for i := 0; i < len(cmd); i++ {
		c := cmd[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, word.String())
				word.Reset()
				inWord = false
			}
		case c == '\\':
			i++
			if i == len(cmd) {
				return nil, errors.New(`ends with a backslash: remove it or write \\`)
			}
			if cmd[i] != '\n' { // backslash-newline continues the line
				word.WriteByte(cmd[i])
				inWord = true
			}
		case c == '\'':
			end := strings.IndexByte(cmd[i+1:], '\'')
			if end < 0 {
				return nil, errors.New("unterminated ' quote: close it")
			}
			word.WriteString(cmd[i+1 : i+1+end])
			i += 1 + end
			inWord = true
		case c == '"':
			i++
			for ; i < len(cmd) && cmd[i] != '"'; i++ {
				if cmd[i] == '\\' && i+1 < len(cmd) && strings.IndexByte("$`\"\\\n", cmd[i+1]) >= 0 {
					i++
					if cmd[i] == '\n' {
						continue
					}
				}
				word.WriteByte(cmd[i])
			}
			if i == len(cmd) {
				return nil, errors.New(`unterminated " quote: close it`)
			}
			inWord = true
		default:
			word.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, word.String())
	}
	return words, nil
}
