// Command hello is the example app's web process: it answers every request
// with a greeting and its release, and /health with ok.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "5000"
	}
	http.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "%s from %s (release %s)\n", os.Getenv("GREETING"), os.Getenv("APP"), os.Getenv("RELEASE"))
	})
	log.Fatal(http.ListenAndServe(":"+port, nil))
}
