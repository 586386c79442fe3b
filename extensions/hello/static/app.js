// Calls the greet API and shows the answer (or the error) below the form.
document.getElementById("greet").addEventListener("submit", async (event) => {
  event.preventDefault();
  const answer = document.getElementById("answer");
  const name = document.getElementById("name").value;
  try {
    const resp = await fetch("/api/v0/greet", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Requested-With": "XMLHttpRequest" },
      body: JSON.stringify({ name }),
    });
    const data = await resp.json();
    answer.textContent = resp.ok ? data.message : `Error: ${data.error}`;
  } catch (err) {
    answer.textContent = `Error: ${err}`;
  }
});
