package ui

import (
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// staticFiles serves the regular files of fsys at the request's path
// (mounted under a prefix with http.StripPrefix): never a directory
// listing or a directory's index.html, and never an HTML file, because
// the HTML under assets/ are templates (index.html with {{.BoothName}})
// that only their own routes may render. Everything else is 404.
func staticFiles(fsys fs.FS) http.Handler {
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
