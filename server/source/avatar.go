package source

import (
	"bytes"
	"hash/fnv"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"path"
	"strconv"
	"strings"
)

const (
	// avatarSize is the side of an avatar in pixels (Twitter's "normal"
	// profile image is 48×48).
	avatarSize = 48
	// avatarCells is the side of the identicon grid.
	avatarCells = 6
	// maxAvatar bounds the avatar numbers AvatarHandler serves.
	maxAvatar = 100_000
)

// AvatarHandler serves the synthetic users' profile images: a request
// whose path ends in "avatar-N.png" (N from 0 to 99,999, as written by
// DefaultAvatarURL) gets a 48×48 PNG identicon, the same for the same N;
// any other path gets 404. Mount it where the avatar URLs point, before
// the static file server, e.g. at "/images/avatar-*". It is stateless and
// safe for concurrent use.
func AvatarHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := path.Base(r.URL.Path)
		num, ok := strings.CutPrefix(name, "avatar-")
		num, ok2 := strings.CutSuffix(num, ".png")
		n, err := strconv.Atoi(num)
		if !ok || !ok2 || err != nil || n < 0 || n >= maxAvatar || strconv.Itoa(n) != num {
			http.NotFound(w, r)
			return
		}
		b := Avatar(n)
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		if r.Method != http.MethodHead {
			// A write error means the client went away; nothing to do.
			_, _ = w.Write(b)
		}
	})
}

// Avatar returns avatar n as PNG: a symmetric identicon in a colour
// derived from n.
func Avatar(n int) []byte {
	h := fnv.New64a()
	h.Write([]byte(strconv.Itoa(n)))
	bits := h.Sum64()
	fg := color.RGBA{R: uint8(bits >> 56), G: uint8(bits >> 48), B: uint8(bits >> 40), A: 255}
	fg.R, fg.G, fg.B = fg.R/2+64, fg.G/2+64, fg.B/2+64
	bg := color.RGBA{R: 240, G: 240, B: 240, A: 255}
	img := image.NewRGBA(image.Rect(0, 0, avatarSize, avatarSize))
	cell := avatarSize / avatarCells
	for y := range avatarCells {
		for x := range avatarCells / 2 {
			c := bg
			if bits>>(y*(avatarCells/2)+x)&1 == 1 {
				c = fg
			}
			for _, cx := range []int{x, avatarCells - 1 - x} {
				for py := y * cell; py < (y+1)*cell; py++ {
					for px := cx * cell; px < (cx+1)*cell; px++ {
						img.SetRGBA(px, py, c)
					}
				}
			}
		}
	}
	var buf bytes.Buffer
	// Encoding an in-memory RGBA image into a bytes.Buffer cannot fail.
	_ = png.Encode(&buf, img)
	return buf.Bytes()
}
