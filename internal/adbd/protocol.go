package adbd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Message commands (protocol.txt): four ASCII bytes read as a
// little-endian uint32.
const (
	cmdCNXN = 0x4e584e43
	cmdOPEN = 0x4e45504f
	cmdOKAY = 0x59414b4f
	cmdWRTE = 0x45545257
	cmdCLSE = 0x45534c43
	cmdAUTH = 0x48545541
	cmdSYNC = 0x434e5953
)

// AUTH types.
const (
	authToken     = 1
	authSignature = 2
)

const (
	// protocolVersion is A_VERSION with checksums skipped (adb >= 1.0.41
	// hosts send the same).
	protocolVersion = 0x01000001
	// maxPayload is the largest message body the daemon sends and
	// accepts; the connection uses the smaller of it and the host's.
	maxPayload = 256 << 10
	// maxAccepted bounds what a host may send in one message.
	maxAccepted = 1 << 20
	headerLen   = 24
)

// message is one adb packet: a header and its payload.
type message struct {
	cmd, arg0, arg1 uint32
	data            []byte
}

func cmdName(c uint32) string {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], c)
	for _, x := range b {
		if x < 'A' || x > 'Z' {
			return fmt.Sprintf("%#08x", c)
		}
	}
	return string(b[:])
}

// ProtocolError is a malformed message from the host.
type ProtocolError struct{ Reason string }

func (e *ProtocolError) Error() string { return "adb protocol error: " + e.Reason }

func readMessage(r io.Reader) (message, error) {
	var h [headerLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return message{}, err
	}
	le := binary.LittleEndian
	m := message{cmd: le.Uint32(h[0:]), arg0: le.Uint32(h[4:]), arg1: le.Uint32(h[8:])}
	n := le.Uint32(h[12:])
	if le.Uint32(h[20:]) != m.cmd^0xffffffff {
		return message{}, &ProtocolError{fmt.Sprintf("bad magic for command %s", cmdName(m.cmd))}
	}
	if n > maxAccepted {
		return message{}, &ProtocolError{fmt.Sprintf("%s message of %d bytes (limit %d)", cmdName(m.cmd), n, maxAccepted)}
	}
	if n > 0 {
		m.data = make([]byte, n)
		if _, err := io.ReadFull(r, m.data); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return message{}, err
		}
	}
	return m, nil
}

func encodeMessage(m message) []byte {
	b := make([]byte, headerLen+len(m.data))
	le := binary.LittleEndian
	le.PutUint32(b[0:], m.cmd)
	le.PutUint32(b[4:], m.arg0)
	le.PutUint32(b[8:], m.arg1)
	le.PutUint32(b[12:], uint32(len(m.data)))
	var sum uint32
	for _, x := range m.data {
		sum += uint32(x)
	}
	le.PutUint32(b[16:], sum)
	le.PutUint32(b[20:], m.cmd^0xffffffff)
	copy(b[headerLen:], m.data)
	return b
}
