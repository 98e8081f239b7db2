// Requests as real browsers send them, from places the bundled geolocation database knows.
export const PASSWORD = "correct horse battery staple";
export const IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
export const FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
export const LONDON = "81.2.69.142";
export const MOUNTAIN_VIEW = "8.8.8.8";
export const SYDNEY = "1.1.1.1";
