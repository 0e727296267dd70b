// spdyclient: a CRI streaming client over SPDY/3.1 the way client-go (kubectl, the kubelet,
// crictl) speaks it, on top of moby/spdystream (Debian's golang-github-docker-spdystream-dev).
// Built by tests/cri at test time: GOPATH=/usr/share/gocode GO111MODULE=off go build.
//
//	spdyclient exec URL [-stdin TEXT] [-tty] [-resize COLSxROWS] [-protocols v4.channel.k8s.io,...] [-method POST]
//	spdyclient forward URL PORT [-send TEXT] [-count N]
//	spdyclient frame     (hex of a SYN_STREAM frame as this library writes it, for unit tests)
//
// exec prints JSON {"protocol","stdout","stderr","error","status_code"}; forward prints JSON
// {"protocol","replies":[{"data","error"}...]}. Exit status 0 unless the upgrade failed.
package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/spdystream"
	"github.com/moby/spdystream/spdy"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "spdyclient: "+format+"\n", args...)
	os.Exit(1)
}

// upgrade sends the HTTP upgrade request (Connection: Upgrade, Upgrade: SPDY/3.1, one
// X-Stream-Protocol-Version header per protocol) and returns the connection and the response.
func upgrade(rawURL, method string, protocols []string) (net.Conn, *http.Response, []byte) {
	u, err := url.Parse(rawURL)
	if err != nil {
		fail("bad URL %q: %v", rawURL, err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 10*time.Second)
	if err != nil {
		fail("dial %s: %v", u.Host, err)
	}
	var req bytes.Buffer
	fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n", method, u.RequestURI(), u.Host)
	for _, p := range protocols {
		fmt.Fprintf(&req, "X-Stream-Protocol-Version: %s\r\n", p)
	}
	if method == "POST" {
		req.WriteString("Content-Length: 0\r\n")
	}
	req.WriteString("\r\n")
	if _, err := conn.Write(req.Bytes()); err != nil {
		fail("writing the upgrade request: %v", err)
	}
	reader := bufio.NewReader(conn)
	resp, err := http.ReadResponse(reader, nil)
	if err != nil {
		fail("reading the upgrade response: %v", err)
	}
	var body []byte
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ = io.ReadAll(resp.Body)
		return conn, resp, body
	}
	if reader.Buffered() > 0 {
		fail("server sent %d bytes before any stream was opened", reader.Buffered())
	}
	if !strings.Contains(strings.ToLower(resp.Header.Get("Connection")), "upgrade") ||
		!strings.Contains(strings.ToLower(resp.Header.Get("Upgrade")), "spdy/3.1") {
		fail("101 without Connection: Upgrade / Upgrade: SPDY/3.1: %v", resp.Header)
	}
	return conn, resp, nil
}

func upgradeFailed(resp *http.Response, body []byte) {
	out, _ := json.Marshal(map[string]interface{}{
		"status_code": resp.StatusCode, "body": string(body),
		"accepted": resp.Header.Values("X-Accepted-Stream-Protocol-Versions")})
	fmt.Println(string(out))
	os.Exit(0)
}

func newStream(conn *spdystream.Connection, headers http.Header) *spdystream.Stream {
	s, err := conn.CreateStream(headers, nil, false)
	if err != nil {
		fail("creating stream %v: %v", headers, err)
	}
	if err := s.WaitTimeout(30 * time.Second); err != nil {
		fail("no reply to stream %v: %v", headers, err)
	}
	return s
}

func execCommand(args []string) {
	fs := flag.NewFlagSet("exec", flag.ExitOnError)
	stdin := fs.String("stdin", "", "text sent on stdin (the stream is half-closed after it unless -keep-stdin)")
	useStdin := fs.Bool("with-stdin", false, "open a stdin stream even when -stdin is empty")
	tty := fs.Bool("tty", false, "a terminal: no stderr stream, a resize stream")
	resize := fs.String("resize", "", "COLSxROWS sent on the resize stream before stdin")
	protocols := fs.String("protocols", "v4.channel.k8s.io,v3.channel.k8s.io,v2.channel.k8s.io,channel.k8s.io", "offered versions")
	method := fs.String("method", "POST", "HTTP method of the upgrade request")
	fs.Parse(args[1:])
	conn, resp, body := upgrade(args[0], *method, strings.Split(*protocols, ","))
	if resp.StatusCode != http.StatusSwitchingProtocols {
		upgradeFailed(resp, body)
	}
	chosen := resp.Header.Get("X-Stream-Protocol-Version")
	sc, err := spdystream.NewConnection(conn, false)
	if err != nil {
		fail("spdystream: %v", err)
	}
	go sc.Serve(spdystream.NoOpStreamHandler)

	// The order client-go's v2..v4 protocols use: error, stdin, stdout, stderr, resize.
	headers := http.Header{}
	headers.Set("streamType", "error")
	errorStream := newStream(sc, headers)
	var stdinStream, resizeStream *spdystream.Stream
	if *stdin != "" || *useStdin {
		headers.Set("streamType", "stdin")
		stdinStream = newStream(sc, headers)
	}
	headers.Set("streamType", "stdout")
	stdoutStream := newStream(sc, headers)
	var stderrStream *spdystream.Stream
	if !*tty {
		headers.Set("streamType", "stderr")
		stderrStream = newStream(sc, headers)
	}
	if *tty && chosen != "channel.k8s.io" && chosen != "v2.channel.k8s.io" {
		headers.Set("streamType", "resize")
		resizeStream = newStream(sc, headers)
	}

	var wg sync.WaitGroup
	var stdout, stderr, errText []byte
	read := func(s *spdystream.Stream, into *[]byte) {
		defer wg.Done()
		*into, _ = io.ReadAll(s)
	}
	wg.Add(2)
	go read(stdoutStream, &stdout)
	go read(errorStream, &errText)
	if stderrStream != nil {
		wg.Add(1)
		go read(stderrStream, &stderr)
	}
	if resizeStream != nil && *resize != "" {
		parts := strings.SplitN(*resize, "x", 2)
		cols, _ := strconv.Atoi(parts[0])
		rows, _ := strconv.Atoi(parts[1])
		// client-go encodes each size with json.Encoder (one object per line).
		json.NewEncoder(resizeStream).Encode(map[string]int{"Width": cols, "Height": rows})
	}
	if stdinStream != nil {
		if *stdin != "" {
			// Split across frames, as a terminal would type it.
			for _, chunk := range []string{(*stdin)[:len(*stdin)/2], (*stdin)[len(*stdin)/2:]} {
				if chunk != "" {
					stdinStream.Write([]byte(chunk))
				}
			}
		}
		if !*tty {
			stdinStream.Close() // half-close: the command sees EOF
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		fail("streams did not end within 60 s")
	}
	sc.Close()
	out, _ := json.Marshal(map[string]interface{}{
		"protocol": chosen, "stdout": string(stdout), "stderr": string(stderr), "error": string(errText),
		"status_code": resp.StatusCode})
	fmt.Println(string(out))
}

// forward does what client-go's portforward does for each local connection: an error stream
// (half-closed at once), then a data stream with the same port and requestID; the data is sent,
// the data stream half-closed, and both read until EOF. -count runs several pairs on one
// connection.
func forward(args []string) {
	fs := flag.NewFlagSet("forward", flag.ExitOnError)
	send := fs.String("send", "", "bytes sent to the port")
	count := fs.Int("count", 1, "connections forwarded, one after the other, over one SPDY connection")
	method := fs.String("method", "POST", "HTTP method")
	fs.Parse(args[2:])
	conn, resp, body := upgrade(args[0], *method, []string{"portforward.k8s.io"})
	if resp.StatusCode != http.StatusSwitchingProtocols {
		upgradeFailed(resp, body)
	}
	sc, err := spdystream.NewConnection(conn, false)
	if err != nil {
		fail("spdystream: %v", err)
	}
	go sc.Serve(spdystream.NoOpStreamHandler)
	var replies []map[string]string
	for i := 0; i < *count; i++ {
		headers := http.Header{}
		headers.Set("streamType", "error")
		headers.Set("port", args[1])
		headers.Set("requestID", strconv.Itoa(i))
		errorStream := newStream(sc, headers)
		errorStream.Close()
		headers.Set("streamType", "data")
		dataStream := newStream(sc, headers)
		var wg sync.WaitGroup
		var data, errText []byte
		wg.Add(2)
		go func() { defer wg.Done(); errText, _ = io.ReadAll(errorStream) }()
		go func() { defer wg.Done(); data, _ = io.ReadAll(dataStream) }()
		if *send != "" {
			dataStream.Write([]byte(*send))
		}
		dataStream.Close()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			fail("forwarded connection %d did not end within 60 s", i)
		}
		replies = append(replies, map[string]string{"data": string(data), "error": string(errText)})
	}
	sc.Close()
	out, _ := json.Marshal(map[string]interface{}{"protocol": resp.Header.Get("X-Stream-Protocol-Version"), "replies": replies})
	fmt.Println(string(out))
}

// frame prints two SYN_STREAM frames written by spdystream's framer (one zlib context, as on a
// connection): the bytes a real client puts on the wire.
func frame() {
	var buf bytes.Buffer
	framer, err := spdy.NewFramer(&buf, &buf)
	if err != nil {
		fail("framer: %v", err)
	}
	for i, kind := range []string{"error", "stdin"} {
		h := http.Header{}
		h.Set("streamType", kind)
		h.Set("port", "8080")
		if err := framer.WriteFrame(&spdy.SynStreamFrame{StreamId: spdy.StreamId(2*i + 1), Headers: h}); err != nil {
			fail("writing: %v", err)
		}
	}
	fmt.Println(hex.EncodeToString(buf.Bytes()))
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: spdyclient exec URL ... | forward URL PORT ... | frame")
	}
	switch os.Args[1] {
	case "exec":
		if len(os.Args) < 3 {
			fail("exec needs a URL")
		}
		execCommand(os.Args[2:])
	case "forward":
		if len(os.Args) < 4 {
			fail("forward needs a URL and a port")
		}
		forward(os.Args[2:])
	case "frame":
		frame()
	default:
		fail("unknown command %q", os.Args[1])
	}
}
