// A slow-ish external tag: gated tags after it must still run after it.
window.ran.push('statistics-external');
