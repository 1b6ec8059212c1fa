// A stand-in for an analytics tag: it only marks the demo page as measured.
document.getElementById('tag-statistics').dataset.state = 'running';
