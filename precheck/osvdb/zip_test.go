package osvdb

import (
	"archive/zip"
	"io"
)

// storedZip writes entries without compression (zip.Store), so tests can corrupt
// record bytes in place.
type storedZip struct{ zw *zip.Writer }

func newStoredZip(w io.Writer) *storedZip { return &storedZip{zip.NewWriter(w)} }

func (s *storedZip) add(name string, data []byte) {
	w, err := s.zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
	if err != nil {
		panic(err)
	}
	w.Write(data)
}

func (s *storedZip) close() { s.zw.Close() }
