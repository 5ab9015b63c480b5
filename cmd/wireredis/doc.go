// Command wireredis runs the wireredis demo.
//
//	wireredis demo
//
// The demo builds the session and cache parts through the generated
// injector (wireredis.InitializeParts), writes through both, and prints the
// keys as the server stores them and the connections the registry opened.
// With no REDIS_URL (or REDIS_HOST) it starts an embedded Redis
// (miniredis) first.
package main
