// The floor of every benchmark: a Worker that answers one `new Response`, served by the same workerd binary.
export default {
  fetch() {
    return new Response('ok');
  },
};
