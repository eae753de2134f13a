// echo-mcp: the fastest MCP upstream we can build here, the "direct" baseline
// of bench/gateway-overhead.ts. One tool, echo, over Streamable HTTP with
// application/json answers, in both protocol eras: 2025-11-25 (and older:
// initialize, a session id it never checks) and 2026-07-28 stateless
// (server/discover, resultType). No SDK and no validation: a baseline that is
// itself slow flatters the gateway's ratio (issue 15). Standard library only,
// so building it downloads nothing.
//
//	echo-mcp [-addr 127.0.0.1:0]
//
// Prints {"url":"http://HOST:PORT/mcp"} on stdout once listening; stops when
// stdin closes (its parent is gone).
package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
)

const modern = "2026-07-28"

type request struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params struct {
		ProtocolVersion string `json:"protocolVersion"`
		Name            string `json:"name"`
		Arguments       struct {
			Text string `json:"text"`
		} `json:"arguments"`
	} `json:"params"`
}

var tools = `{"tools":[{"name":"echo","description":"echoes its text","inputSchema":{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}}]`

var older = map[string]bool{"2025-11-25": true, "2025-06-18": true, "2025-03-26": true}

func sessionID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// result writes {"jsonrpc":"2.0","id":ID,"result":RESULT} where RESULT is the
// object text `body` without its closing brace, closed here with the era's
// resultType (2026-07-28 results carry one).
func result(w http.ResponseWriter, id json.RawMessage, body string, stateless bool) {
	w.Header().Set("Content-Type", "application/json")
	out := make([]byte, 0, 64+len(body))
	out = append(out, `{"jsonrpc":"2.0","id":`...)
	out = append(out, id...)
	out = append(out, `,"result":`...)
	out = append(out, body...)
	if stateless {
		out = append(out, `,"resultType":"complete"`...)
	}
	out = append(out, `}}`...)
	_, _ = w.Write(out)
}

func handle(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
	case http.MethodDelete:
		w.WriteHeader(http.StatusOK)
		return
	default: // no GET stream: nothing to notify
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	var req request
	if err := json.Unmarshal(raw, &req); err != nil {
		http.Error(w, `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}`, http.StatusBadRequest)
		return
	}
	if req.ID == nil { // a notification
		w.WriteHeader(http.StatusAccepted)
		return
	}
	stateless := r.Header.Get("Mcp-Protocol-Version") == modern
	switch req.Method {
	case "initialize":
		version := req.Params.ProtocolVersion
		if !older[version] {
			version = "2025-11-25"
		}
		w.Header().Set("Mcp-Session-Id", sessionID())
		result(w, req.ID, `{"protocolVersion":"`+version+`","capabilities":{"tools":{}},"serverInfo":{"name":"echo-go","version":"1.0.0"}`, false)
	case "server/discover":
		result(w, req.ID, `{"supportedVersions":["2026-07-28","2025-11-25","2025-06-18","2025-03-26"],"capabilities":{"tools":{}},"serverInfo":{"name":"echo-go","version":"1.0.0"}`, true)
	case "ping":
		result(w, req.ID, `{`, false)
	case "tools/list":
		result(w, req.ID, tools, stateless)
	case "tools/call":
		text, _ := json.Marshal(req.Params.Arguments.Text)
		result(w, req.ID, `{"content":[{"type":"text","text":`+string(text)+`}]`, stateless)
	default:
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32601,"message":%s}}`, req.ID, strconv.Quote("method not found: "+req.Method))
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("{\"url\":\"http://%s/mcp\"}\n", ln.Addr())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	mux := http.NewServeMux()
	mux.HandleFunc("/mcp", handle)
	if err := http.Serve(ln, mux); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
