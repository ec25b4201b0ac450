export const routes = ['/health', '/orders']
