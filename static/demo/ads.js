// A stand-in for an advertising tag: it only marks the demo page.
document.getElementById('tag-advertising').dataset.state = 'running';
