// Where the app finds the API. Served by the local gateway, the API and the
// WebSocket are on the page's own origin: leave both empty. Deployed as
// static files next to API Gateway, set them, e.g.
//   apiBase: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
//   wsUrl: 'wss://def456.execute-api.eu-west-1.amazonaws.com/prod',
// and allow those two origins in the page's Content-Security-Policy.
window.CHAT_CONFIG = { apiBase: '', wsUrl: '' };
