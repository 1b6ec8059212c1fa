document.getElementById('statistics-state').textContent = 'statistics: ran';
