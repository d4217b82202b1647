// Package staticfs serves embedded assets without giving away more than
// the files themselves.
package staticfs

import (
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// Handler serves the regular files of fsys at the request's path (mount
// it under a prefix with http.StripPrefix): never a directory listing or
// a directory's index.html, and never an HTML file, because the HTML next
// to the assets are templates (the kiosk screen's index.html, the
// console's pages) that only their own routes may render. Everything else
// is 404.
func Handler(fsys fs.FS) http.Handler {
	files := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if name == "" || strings.HasSuffix(r.URL.Path, "/") || strings.HasSuffix(strings.ToLower(name), ".html") || !fs.ValidPath(name) {
			http.NotFound(w, r)
			return
		}
		if st, err := fs.Stat(fsys, name); err != nil || !st.Mode().IsRegular() {
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	})
}
