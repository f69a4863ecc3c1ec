cd /work/main
run() { for c in "$@"; do n=${c%%:*}; p=${c#*:}; OMP_NUM_THREADS=1 .venv/bin/python /tmp/s60/geo.py $p /tmp/s60/geo_$n.json > /tmp/s60/geo_$n.log 2>&1; done; }
run lcbench:/tmp/s58/lc.pkl syn1:/tmp/s55/syn1.pkl syn2026:/tmp/s55/syn2026.pkl synind:/tmp/s55/synind.pkl syn2:/tmp/s56/syn2.pkl syn3:/tmp/s56/syn3.pkl syn4:/tmp/s56/syn4.pkl syn5:/tmp/s56/syn5.pkl syn6:/tmp/s56/syn6.pkl &
run keel:/tmp/s55/keel.pkl syn7:/tmp/s58/syn7.pkl syn8:/tmp/s58/syn8.pkl syn9:/tmp/s58/syn9.pkl syn10:/tmp/s58/syn10.pkl syn11:/tmp/s58/syn11.pkl s8_80:/tmp/s56/syn8_80.pkl s8_81:/tmp/s56/syn8_81.pkl s8_82:/tmp/s58/syn8_82.pkl s8_83:/tmp/s58/syn8_83.pkl &
wait; touch /tmp/s60/small.done
